// The shared reading module: shell scripts and command lines (policy/reading/shell.ts, commandLine.ts).

import * as assert from "assert";
import { effectiveArgv, expandKubeletRefs, invocations, parseShell, shellScript, shellWords, unwrap } from "../../policy/reading";

const words = (script: string, vars: Record<string, string> = {}) => parseShell(script, { vars: new Map(Object.entries(vars)) }).map((c) => c.words);

describe("reading: shell scripts", () => {
    it("splits commands on ; && || | & newlines and subshells, and drops keywords and comments", () => {
        assert.deepStrictEqual(words("a 1; b 2 && c || d | e & (f) # g h\nif true; then i; fi"), [["a", "1"], ["b", "2"], ["c"], ["d"], ["e"], ["f"], ["true"], ["i"]]);
    });

    it("removes quotes like the shell and joins backslash-continued lines", () => {
        assert.deepStrictEqual(words(`redis-server \\\n  --requirepass "a b" --x 'c d'\\\n  --y e\\ f`), [["redis-server", "--requirepass", "a b", "--x", "c d", "--y", "e f"]]);
    });

    it("expands known variables, keeps unknown ones as references, and applies ${VAR:-default}", () => {
        assert.deepStrictEqual(words('P=x; echo "$P" ${P} $Q ${Q:-d} ${P:-d} "$(cat f)" $1', {}), [[], ["echo", "x", "x", "$Q", "d", "x", "$(cat f)", "$1"], ["cat", "f"]]);
        assert.deepStrictEqual(words('echo "$A"', { A: "from-env" }), [["echo", "from-env"]]);
        assert.deepStrictEqual(words("export K=v; echo $K; echo '$K'"), [["export", "K=v"], ["echo", "v"], ["echo", "$K"]]);
    });

    it("returns the commands inside $(...) and backticks, and the assignments of a command", () => {
        const cmds = parseShell("X=1 Y=$(redis-cli -a s ping) app --flag `id -u`");
        assert.deepStrictEqual(
            cmds.map((c) => [c.assignments, c.words]),
            [
                [[["X", "1"], ["Y", "$(redis-cli -a s ping)"]], ["app", "--flag", "`id -u`"]],
                [[], ["redis-cli", "-a", "s", "ping"]],
                [[], ["id", "-u"]],
            ],
        );
    });

    it("drops redirections and keeps here-document bodies with their command", () => {
        const cmds = parseShell("cat > /tmp/f <<-EOF 2>&1\n\tpassword=x\n\tEOF\nnext");
        assert.deepStrictEqual(cmds.map((c) => [c.words, c.heredocs]), [[["cat"], ["password=x"]], [["next"], []]]);
    });

    it("splits an option string into words", () => {
        assert.deepStrictEqual(shellWords(`-Xmx1g -Da="b c" -Dd='e'`), ["-Xmx1g", "-Da=b c", "-Dd=e"]);
    });
});

describe("reading: command lines", () => {
    it("expands $(VAR) like the kubelet, with $$ as an escape", () => {
        const vars = new Map([["A", "1"]]);
        assert.strictEqual(expandKubeletRefs("$(A) $(B) $$(A)", (n) => vars.get(n)), "1 $(B) $(A)");
    });

    it("takes wrappers off and keeps env's assignments", () => {
        assert.deepStrictEqual(unwrap(["exec", "env", "-i", "A=b", "tini", "--", "gosu", "redis", "timeout", "-s", "KILL", "5", "redis-server", "x"]), { argv: ["redis-server", "x"], assignments: [["A", "b"]] });
    });

    it("finds the script of sh -c / bash -ec / busybox sh, or the script file", () => {
        assert.deepStrictEqual(shellScript(["/bin/bash", "-ec", "s", "arg0"]), { script: "s", args: ["arg0"] });
        assert.deepStrictEqual(shellScript(["busybox", "sh", "-o", "pipefail", "-c", "s"]), { script: "s", args: [] });
        assert.deepStrictEqual(shellScript(["sh", "/mnt/start.sh", "x"]), { file: "/mnt/start.sh", args: ["x"] });
        assert.strictEqual(shellScript(["redis-server"]), undefined);
    });

    it("lists every program start, through sh -c scripts and mounted scripts", () => {
        const files: Record<string, string> = { "/mnt/start.sh": "#!/bin/sh\nexec redis-server /etc/r.conf --port $PORT\n" };
        const invs = invocations(["sh", "-c", "echo hi && /mnt/start.sh"], { vars: new Map([["PORT", "7000"]]), readFile: (p) => files[p] });
        assert.deepStrictEqual(
            invs.map((i) => [i.via, i.argv]),
            [
                ["command/args", ["sh", "-c", "echo hi && /mnt/start.sh"]],
                ["sh -c script", ["echo", "hi"]],
                ["sh -c script", ["/mnt/start.sh"]],
                ["/mnt/start.sh", ["redis-server", "/etc/r.conf", "--port", "7000"]],
            ],
        );
    });

    it("models the entrypoints of the redis, mariadb and apache/kafka images when command is not set", () => {
        const vars = new Map<string, string>();
        assert.deepStrictEqual(effectiveArgv({}, { family: "redis", vars }), { argv: ["redis-server"], imageDefault: true });
        assert.deepStrictEqual(effectiveArgv({ args: ["/etc/redis.conf"] }, { family: "redis", vars }).argv, ["redis-server", "/etc/redis.conf"]);
        assert.deepStrictEqual(effectiveArgv({ args: ["--port", "1"] }, { family: "redis", vars }).argv, ["redis-server", "--port", "1"]);
        assert.deepStrictEqual(effectiveArgv({ command: ["docker-entrypoint.sh", "--port", "1"] }, { family: "redis", vars }).argv, ["redis-server", "--port", "1"]);
        assert.deepStrictEqual(effectiveArgv({ args: ["--skip-grant-tables"] }, { family: "mariadb", vars }).argv, ["mariadbd", "--skip-grant-tables"]);
        assert.deepStrictEqual(effectiveArgv({}, { family: "apache-kafka", vars }).argv, ["/etc/kafka/docker/run"]);
        assert.deepStrictEqual(effectiveArgv({ command: ["sleep"], args: ["$(T)"] }, { family: "redis", vars: new Map([["T", "5"]]) }).argv, ["sleep", "5"]);
    });
});
