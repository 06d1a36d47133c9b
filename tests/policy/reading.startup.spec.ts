// The shared reading module: what a container's start-up runs (policy/reading/shellSyntax.ts, shellRun.ts,
// programs.ts). Each case names the shell feature the reading follows, and checks the program starts it
// records, or that it reports what it cannot follow instead of guessing.

import * as assert from "assert";
import { ANY, ContainerFs, containerMounts, DIGITS, FIELDS, parseScript, show, ShellSyntaxError, StartupRunner, WORD } from "../../policy/reading";

/** A container file view with one emptyDir mounted at `path`. */
function withEmptyDir(path: string): ContainerFs {
    const volumes = new Map([["w", { name: "w", type: "emptyDir", readOnly: false, persistent: false, label: 'emptyDir volume "w"' }]]);
    return new ContainerFs(containerMounts({ volumeMounts: [{ name: "w", mountPath: path }] }, volumes, (x) => x).mounts, undefined, "test", true);
}

/** Runs `sh -c script` (or any argv) in a container with no mounts; returns the recorded starts and unknowns. */
function run(argv: string[], env: Record<string, string> = {}, fs = new ContainerFs([], undefined, "test", false)) {
    const r = new StartupRunner({ fs, image: undefined, where: "test" });
    r.runArgv(argv, new Map(Object.entries({ HOSTNAME: WORD, ...env })), "command", false, "/");
    const servers = r.result.procs.filter((p) => p.kind === "server").map((p) => `${p.maybe ? "?" : ""}${p.argv.map(show).join(" ")}`);
    return { servers, unknowns: r.result.unknowns.map((u) => u.reason), result: r.result, fs };
}
const sh = (script: string, env: Record<string, string> = {}, ...args: string[]) => run(["sh", "-c", script, ...args], env);

describe("reading: the shell script parser", () => {
    it("parses the constructs start scripts use, and refuses what it does not read", () => {
        for (const s of [
            'f() { local a="$1"; echo "${a%%:*}"; }; f x:y',
            "case \"$x\" in \"\"|*[!0-9]*) exit 1 ;; a|b) echo ab ;; esac",
            'args=(--a "b c"); args+=(--d); exec prog "${args[@]}"',
            "while read -r a b; do echo $a; done < /f",
            "if [ -f /x ] && ! grep -q y /x; then :; elif [[ $a =~ ^b|c$ ]]; then :; else :; fi",
            "cat <<EOF | sed 's/a/b/' > /out\nline $x\nEOF\necho done",
            'mapfile -t l < <(printf "%s\\n" a b); echo "${l[@]:0:${#l[@]}-1}" $((1 + 2)) $\'\\t\'',
        ]) {
            assert.doesNotThrow(() => parseScript(s), s);
        }
        assert.throws(() => parseScript("echo 'unterminated"), ShellSyntaxError);
        assert.throws(() => parseScript("if true; then echo x"), ShellSyntaxError);
    });
});

describe("reading: following a start-up", () => {
    it("follows positional parameters, shift, set -- and exec \"$@\"", () => {
        assert.deepStrictEqual(sh('exec "$@"', {}, "sh", "redis-server", "--port", "6380").servers, ["redis-server --port 6380"]);
        assert.deepStrictEqual(sh('shift; exec "$@"', {}, "sh", "x", "redis-server", "/c.conf").servers, ["redis-server /c.conf"]);
        assert.deepStrictEqual(sh('set -- redis-server "$@"; exec "$@"', {}, "sh", "--save", "").servers, ["redis-server --save "]);
    });

    it("splits unquoted expansions into words, keeps quoted ones whole, and expands arrays", () => {
        assert.deepStrictEqual(sh("exec $CMD", { CMD: "redis-server --port 6379" }).servers, ["redis-server --port 6379"]);
        assert.deepStrictEqual(sh('exec "$CMD"', { CMD: "redis-server --port 6379" }).servers, [], "one word: a program named `redis-server --port 6379`");
        assert.deepStrictEqual(sh('a=(--aclfile ""); exec redis-server /c "${a[@]}"').servers, ["redis-server /c --aclfile "]);
        assert.deepStrictEqual(sh('a=(); exec redis-server "${a[@]}"').servers, ["redis-server"]);
    });

    it("follows functions, eval, . files and wrappers (env, gosu, timeout, xargs, find -exec)", () => {
        assert.deepStrictEqual(sh('start() { exec redis-server /c "$@"; }; start --requirepass ""').servers, ["redis-server /c --requirepass "]);
        assert.deepStrictEqual(sh('p=redis-server; eval "exec $p --port 1"').servers, ["redis-server --port 1"]);
        assert.deepStrictEqual(sh("exec env A=b gosu redis timeout 5 nice -n 1 redis-server /c").servers, ["redis-server /c"]);
        assert.deepStrictEqual(sh("echo /c | xargs redis-server").servers, ["?redis-server …"]);
        assert.deepStrictEqual(sh("find /etc -name '*.conf' -exec redis-server {} \\;").servers, ["?redis-server …"]);
        assert.deepStrictEqual(run(["bash", "-c", "exec $'redis\\x2dserver' --port 1"]).servers, ["redis-server --port 1"]);
    });

    it("takes NAME=value arguments of local/export/readonly/declare as assignments: no splitting of the value", () => {
        // ready.sh: `unquote() { local s=$1 …; }` called with a line read from a file (unknown text).
        const unq = sh('u() { local s=$1 out="" i; out=$s; printf %s "$out"; }; v=$(u "$(cat /proc/x)"); exec redis-server --replica-announce-ip "$v"');
        assert.deepStrictEqual(unq.unknowns, []);
        assert.deepStrictEqual(unq.servers, ["redis-server --replica-announce-ip …"]);
        assert.deepStrictEqual(sh('f() { local s=$1; exec redis-server --requirepass "$s"; }; f "a b"').servers, ["redis-server --requirepass a b"]);
        assert.deepStrictEqual(sh('v="x y"; export P=$v; readonly Q=$v; exec redis-server --requirepass "$P" --masterauth "$Q"').servers, ["redis-server --requirepass x y --masterauth x y"]);
        assert.deepStrictEqual(run(["bash", "-c", 'declare -a a=(--port 7000); exec redis-server "${a[@]}"']).servers, ["redis-server --port 7000"]);
        // Attributes that change later assignments are not followed: said, not guessed.
        assert.match(run(["bash", "-c", 'f() { local -n r=pw; r=""; }; pw=x; f; exec redis-server --requirepass "$pw"']).unknowns.join(), /local -n gives variables an attribute/);
        assert.match(run(["bash", "-c", 'declare -l p=SASL_SSL; exec redis-server --x "$p"']).unknowns.join(), /declare -l gives variables an attribute/);
        assert.deepStrictEqual(run(["bash", "-c", 'export -n X; declare -A s=(); local -p; exec redis-server']).unknowns, []);
        // A quoted name is a word like any other: its value is split (and unknown words stay unknown).
        assert.match(sh('"export" P=$X; exec redis-server', { X: ANY }).unknowns.join(), /export gets names the pack cannot expand/);
    });

    it("ends a function's local variables with the call, and local outside a function assigns nothing", () => {
        // The password read into a local is gone after the call: redis-server gets an empty one.
        assert.deepStrictEqual(sh('pw=; load() { local pw; pw="$(cat /s/p)"; }; load; exec redis-server --requirepass "$pw"').servers, ["redis-server --requirepass "]);
        assert.deepStrictEqual(sh('pw=outer; f() { local pw=inner; g; }; g() { exec redis-server --requirepass "$pw"; }; f').servers, ["redis-server --requirepass inner"], "dynamic scope: a called function sees the local");
        assert.deepStrictEqual(sh('pw=outer; f() { pw=global; local pw=inner; }; f; exec redis-server --requirepass "$pw"').servers, ["redis-server --requirepass global"]);
        assert.deepStrictEqual(sh('pw=outer; f() { if [ -f /x ]; then local pw; fi; pw=inner; }; f; exec redis-server --requirepass "$pw"').servers.sort(), ["?redis-server --requirepass inner", "?redis-server --requirepass outer"], "local on some paths only");
        // `local x` without a value: unset in bash and busybox ash, the hidden value in dash.
        assert.deepStrictEqual(run(["bash", "-c", 'pw=outer; f() { local pw; exec redis-server --requirepass "$pw"; }; f']).servers, ["redis-server --requirepass "]);
        assert.deepStrictEqual(run(["dash", "-c", 'pw=outer; f() { local pw; exec redis-server --requirepass "$pw"; }; f']).servers, ["redis-server --requirepass outer"]);
        // Outside a function: bash assigns nothing and goes on; dash and busybox ash stop.
        assert.deepStrictEqual(run(["bash", "-c", 'local pw=x; exec redis-server --requirepass "$pw"']).servers, ["redis-server --requirepass "]);
        assert.deepStrictEqual(run(["bash", "-ec", 'local pw=x; exec redis-server --requirepass "$pw"']).servers, []);
        assert.deepStrictEqual(run(["dash", "-c", 'local pw=x; exec redis-server --requirepass "$pw"']).servers, []);
    });

    it("keeps every value a variable may have after branches, and refines it after a case that exits", () => {
        const r = sh('case "$HOSTNAME" in a-0) self=a ;; a-1) self=b ;; *) exit 1 ;; esac\nexec redis-server --replica-announce-ip "$self"');
        assert.deepStrictEqual(r.servers.sort(), ["?redis-server --replica-announce-ip a", "?redis-server --replica-announce-ip b"]);
        const o = sh('o="${HOSTNAME##*-}"; case "$o" in ""|*[!0-9]*) exit 1 ;; esac; exec redis-server --port "$((o + 1))" "$o"');
        assert.strictEqual(o.result.procs.find((p) => p.kind === "server")?.argv[3], DIGITS);
    });

    it("stops a set -e script at a command that fails on a missing file", () => {
        // /w is an emptyDir: what the script did not write there is not there.
        const w = () => withEmptyDir("/w");
        assert.deepStrictEqual(run(["sh", "-c", "set -e; cat /w/missing > /w/x; exec redis-server /w/x"], {}, w()).servers, []);
        assert.deepStrictEqual(run(["sh", "-ec", "cat /w/missing > /w/x; exec redis-server /w/x"], {}, w()).servers, []);
        assert.deepStrictEqual(run(["sh", "-c", "cat /w/missing > /w/x; exec redis-server /w/x"], {}, w()).servers, ["redis-server /w/x"]);
        assert.deepStrictEqual(run(["sh", "-c", "set -e; cat /w/missing > /w/x || true; exec redis-server /w/x"], {}, w()).servers, ["redis-server /w/x"]);
    });

    it("follows what the script writes: redirections, here-documents, cat, sed, cp and tee", () => {
        const r = sh("cat > /r.conf <<EOF\nport $P\nEOF\nsed -e 's/port/tls-port/' /r.conf > /t.conf\ncp /t.conf /u.conf\necho requirepass x | tee -a /u.conf\nexec redis-server /u.conf", { P: "7000" });
        assert.deepStrictEqual(r.servers, ["redis-server /u.conf"]);
        const proc = r.result.procs.find((p) => p.kind === "server")!;
        assert.deepStrictEqual(proc.fs.read("/u.conf").map((f) => (f.state === "file" ? f.text : f.state)), ["tls-port 7000\nrequirepass x\n"]);
    });

    it("takes what a builtin prints as unknown when it cannot be told (printf with a format it cannot expand), not as nothing", () => {
        const r = sh('printf "a=$X\\n" > /t.conf; command -v redis-server > /u; exec redis-server /t.conf', { X: ANY });
        const proc = r.result.procs.find((p) => p.kind === "server")!;
        assert.deepStrictEqual([...proc.fs.read("/t.conf"), ...proc.fs.read("/u")].map((f) => (f.state === "file" ? show(f.text) : f.state)), ["…", "…"]);
        assert.deepStrictEqual(sh("printf 'a=%s\\n' x > /t.conf; exec redis-server /t.conf").result.procs.find((p) => p.kind === "server")!.fs.read("/t.conf").map((f) => (f.state === "file" ? f.text : f.state)), ["a=x\n"]);
    });

    it("reports what it cannot follow instead of guessing: unknown programs, unexpandable program names, eval of output", () => {
        assert.match(sh("python3 -c 'import os'").unknowns.join(), /runs python3, a program the pack does not know/);
        assert.match(sh('exec "$(cat /proc/cmdline)"').unknowns.join(), /program to run comes from a value the pack cannot expand/);
        assert.match(sh('eval "$(curl -s http://x)"').unknowns.join(), /eval runs text the pack cannot expand/);
        assert.match(sh("alias r=redis-server; r").unknowns.join(), /alias renames commands/);
        assert.match(sh("awk 'BEGIN { system(\"redis-server\") }'").unknowns.join(), /awk runs commands or writes files/);
        assert.deepStrictEqual(sh("awk '{ printf \"%s%s\", (NR > 1 ? \",\" : \"\"), $0 }' /f").unknowns, [], "a comparison in parentheses is not a redirection");
        assert.deepStrictEqual(sh("awk '{ if (index($0, \" are \" m \"=\") > 0 || index($0, \", \" m \"=\") > 0) print u }' /f").unknowns, [], "nor one in nested parentheses");
        assert.match(sh("awk '{ if (index($0, \"x\") > 0) print u > \"/etc/redis.conf\" }' /f").unknowns.join(), /awk runs commands or writes files/, "a redirection after nested parentheses still counts");
        assert.deepStrictEqual(sh("sleep 1; echo ok; date +%s > /tmp/x; mkdir -p /a && chmod 700 /a").unknowns, []);
    });

    it("marks values from outside the manifests as unknown, and words that may split as any number of words", () => {
        const r = sh('exec redis-server $X "$(hostname)"', { X: ANY });
        assert.deepStrictEqual(r.result.procs.find((p) => p.kind === "server")?.argv, ["redis-server", FIELDS, WORD]);
    });
});
