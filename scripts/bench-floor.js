// The floor of `npm run bench`: a fresh node process that loads @pulumi/pulumi, @pulumi/kubernetes and
// @pulumi/random, starts the mock runtime and runs a program that declares nothing. No TypeScript support
// and no caches: what any offline render must pay before it does anything. Plain JavaScript on purpose.
"use strict";

const pulumi = require("@pulumi/pulumi");
require("@pulumi/kubernetes");
require("@pulumi/random");

(async () => {
    await pulumi.runtime.setMocks(
        { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) },
        "msa-infra",
        "floor",
        false,
        "organization",
    );
    await pulumi.runtime.runInPulumiStack(async () => ({}));
})().catch((e) => {
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
});
