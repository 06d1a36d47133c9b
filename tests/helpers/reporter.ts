// Mocha's spec reporter plus one closing line, "N passed, N failed, N skipped", that CI reads as the count.

import Mocha from "mocha";

class SpecWithSummary extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const s = runner.stats;
            if (s) {
                process.stdout.write(`${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
            }
        });
    }
}

export = SpecWithSummary;
