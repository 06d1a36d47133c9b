// Redis users change live (issue 20 item 2): adding, removing or rotating an application user leaves the
// StatefulSet's pod template as it was (no pod restarts) and makes a new ACL reconcile Job, which applies the
// mounted ACL file to every pod (components/redis/aclReconcile.ts). The script's behaviour on real servers:
// tests/servers/redis/acl-live.spec.ts.

import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    aclReconcilePodsFile,
    aclReconcileScript,
    aclSetuserCommands,
    mountedSecretFiles,
    REDIS_ACL_COMMAND_KEYS,
    REDIS_ACL_JOB,
    REDIS_ACL_RECONCILE_PATHS,
    REDIS_OBJECTS,
    REDIS_PATHS,
} from "../../components/redis";
import { serviceDnsNames } from "../../components/dnsNames";
import { readProjectName, readStackFile, renderStack, ROOT, type Manifest } from "../../scripts/lib/mockRuntime";
import { Any } from "../../scripts/lib/manifests";
import { secretData } from "../../scripts/lib/rendered";
import { decodeConfigValue } from "../../components/stackConfig";
import { problems } from "../helpers/config";
import { makeTempDir, removeTempDir } from "../../scripts/lib/servers";

function stackConfig(stack: string): Record<string, unknown> {
    const project = readProjectName(ROOT);
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(readStackFile(ROOT, stack))) {
        if (k.startsWith(`${project}:`)) config[k.slice(project.length + 1)] = decodeConfigValue(v);
    }
    return config;
}

function withRedisUsers(config: Record<string, unknown>, users: unknown[]): Record<string, unknown> {
    return { ...config, redis: { ...((config.redis as object | undefined) ?? {}), users } };
}

interface RedisRender {
    template: unknown;
    jobName: string;
    job: Any;
    objects: Manifest[];
}

async function renderRedis(stack: string, config: Record<string, unknown>, generated?: ReadonlyMap<string, Record<string, unknown>>): Promise<RedisRender> {
    const r = await renderStack(stack, { config, seed: "acl-live", generated });
    const sts = r.objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "redis") as Any;
    const jobs = r.objects.filter((o) => o.kind === "Job" && o.metadata.name.startsWith(`${REDIS_ACL_JOB.name}-`)) as Any[];
    assert.strictEqual(jobs.length, 1, `${stack}: one ACL reconcile Job`);
    return { template: sts.spec.template, jobName: jobs[0].metadata.name, job: jobs[0], objects: r.objects };
}

/** The first difference between two JSON values, as a path (for the failure message). */
function firstDifference(a: unknown, b: unknown, at = ""): string | undefined {
    if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
    if (a && b && typeof a === "object" && typeof b === "object") {
        for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
            const d = firstDifference((a as Any)[k], (b as Any)[k], `${at}.${k}`);
            if (d) return d;
        }
    }
    return `${at}: ${JSON.stringify(a)?.slice(0, 120)} → ${JSON.stringify(b)?.slice(0, 120)}`;
}

const USER_PASSWORD = (user: string) => `random:index/randomPassword:RandomPassword::redis-user-${user}-password`;
/** Whether a render generates the password `id` (its Secret holding it exists). */
function renderHas(r: RedisRender, id: string): boolean {
    const secretOf: Record<string, string> = {
        password: "redis-credentials",
        "reconcile-password": "redis-reconcile",
        "metrics-password": "redis-exporter-credentials",
        "replication-password": "redis-replication",
        "sentinel-user-password": "redis-sentinel-auth",
        "sentinel-password": "redis-sentinel-credentials",
        "sentinel-peer-password": "redis-sentinel-auth",
        "sentinel-admin-password": "redis-sentinel-admin",
    };
    return r.objects.some((o) => o.kind === "Secret" && o.metadata.name === secretOf[id]);
}

for (const stack of ["dev", "prod"]) {
    describe(`Redis users change live on ${stack}: the pod template stays, a new ACL Job runs`, function () {
        this.timeout(120_000);
        let config: Record<string, unknown>;
        let users: { name: string; keyPattern?: string }[];
        let base: RedisRender;
        before(async () => {
            config = stackConfig(stack);
            users = ((config.redis as Any)?.users ?? []) as { name: string }[];
            assert.ok(users.length > 0, `${stack} declares a Redis user (the rotation case needs one)`);
            base = await renderRedis(stack, config);
        });

        const cases: [string, () => Promise<RedisRender>][] = [
            ["one more user", () => renderRedis(stack, withRedisUsers(config, [...users, { name: "carts", keyPattern: "cart:*" }]))],
            ["a user removed", () => renderRedis(stack, withRedisUsers(config, users.slice(1)))],
            ["a key pattern changed", () => renderRedis(stack, withRedisUsers(config, [{ ...users[0], keyPattern: "other:*" }, ...users.slice(1)]))],
            [
                "a user's password rotated",
                () => renderRedis(stack, config, new Map([[USER_PASSWORD(users[0].name), { result: "rotated-Aa1-".padEnd(32, "x") }]])),
            ],
        ];
        for (const [what, render] of cases) {
            it(`${what}: spec.template unchanged, a new ACL reconcile Job`, async () => {
                const changed = await render();
                assert.strictEqual(firstDifference(base.template, changed.template), undefined, `${what} changed the pod template (the pods would restart)`);
                assert.notStrictEqual(changed.jobName, base.jobName, `${what}: the Job keeps its name ${base.jobName}, so it would not run again`);
            });
        }

        // Issue 20 item 4: the operations passwords are applied live too (aclReconcile.ts), so none rolls a pod.
        const OPS = ["password", "reconcile-password", "metrics-password", "replication-password", "sentinel-user-password", "sentinel-password", "sentinel-peer-password", "sentinel-admin-password"];
        it("each operations password rotated (admin, reconcile, metrics, replication, Sentinels'): spec.template unchanged, a new ACL reconcile Job", async () => {
            const ids = OPS.filter((id) => renderHas(base, id));
            assert.ok(ids.includes("password") && ids.includes("reconcile-password"), `${stack}: ${ids.join(", ")}`);
            if (stack === "prod") assert.strictEqual(ids.length, OPS.length, `prod rotates all of ${OPS.join(", ")}: ${ids.join(", ")}`);
            for (const id of ids) {
                const changed = await renderRedis(stack, config, new Map([[`random:index/randomPassword:RandomPassword::redis-${id}`, { result: "rotated-Aa1-".padEnd(32, "y") }]]));
                assert.strictEqual(firstDifference(base.template, changed.template), undefined, `redis-${id} rotated changes the pod template (the pods would restart)`);
                assert.notStrictEqual(changed.jobName, base.jobName, `redis-${id} rotated: the Job keeps its name, so it would not run again`);
            }
        });

        it("the Job's command files are users.acl's lines as ACL SETUSER (phase 2 with reset), in the Secret the pods and the Job mount", async () => {
            const r = await renderStack(stack, { config, seed: "acl-live", withSecrets: true });
            const secret = r.objects.find((o) => o.kind === "Secret" && o.metadata.name === REDIS_OBJECTS.acl) as Any;
            const data = secretData(secret);
            const lines = data["users.acl"].trim().split("\n");
            assert.ok(lines.length >= 2 && lines.every((l) => /^user \S+ on #[0-9a-f]{64} /.test(l)), data["users.acl"].replace(/#[0-9a-f]{64}/g, "#<hash>"));
            assert.strictEqual(data[REDIS_ACL_COMMAND_KEYS.phase1], lines.map((l) => l.replace(/^user /, "ACL SETUSER ") + "\n").join(""));
            assert.strictEqual(data[REDIS_ACL_COMMAND_KEYS.phase2], lines.map((l) => l.replace(/^user (\S+) /, "ACL SETUSER $1 reset ") + "\n").join(""));
            assert.ok(!r.objects.some((o) => o.kind === "ConfigMap" && /#[0-9a-f]{64}/.test(JSON.stringify(o))), "a password hash in a ConfigMap");
            // The pods do not roll for them: not in the StatefulSet's checksum/acl.
            const sts = r.objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "redis") as Any;
            assert.strictEqual(JSON.stringify(sts.spec.template), JSON.stringify((base.template as Any)));
        });

        it("the Job mounts the ACL file the pods load, the admin password as a file, and the pods' addresses", () => {
            const spec = base.job.spec.template.spec;
            const vols = Object.fromEntries((spec.volumes as Any[]).map((v) => [v.name, v]));
            assert.strictEqual(vols.acl.secret.secretName, REDIS_OBJECTS.acl);
            assert.strictEqual(vols.credentials.secret.secretName, REDIS_OBJECTS.credentials);
            assert.strictEqual(vols["acl-reconcile"].configMap.name, REDIS_OBJECTS.aclReconcile);
            const c = spec.containers[0];
            assert.deepStrictEqual(c.command, ["sh", REDIS_ACL_RECONCILE_PATHS.script]);
            assert.ok(!(c.env ?? []).some((e: Any) => /AUTH|PASS/i.test(e.name)), "no password in the Job's environment");
            assert.strictEqual(base.job.spec.backoffLimit, 3);
            const cm = base.objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === REDIS_OBJECTS.aclReconcile) as Any;
            const replicas = stack === "prod" ? 3 : 1;
            const hosts = (cm.data.pods as string).trim().split("\n").map((l) => l.split(" ")[1].replace(/:6379$/, ""));
            assert.strictEqual(hosts.length, replicas);
            // With TLS the Job checks each pod's certificate: every address must be a name it carries.
            const names = serviceDnsNames("redis", "cache", replicas);
            for (const h of hosts) assert.ok(names.includes(h), `${h} is not a name of the certificate`);
            assert.strictEqual((cm.data["reconcile-acl.sh"] as string).includes("--tls --cacert"), stack === "prod");
        });
    });
}

/** The script of a replicated Redis with the exporter (the richest one). */
const SCRIPT = (tls: boolean) => ({ tls, sentinels: true, fingerprintFiles: mountedSecretFiles({ replicated: true, exporterFile: "/etc/redis-exporter/password.json" }) });

describe("Redis ACL reconcile script text", () => {
    for (const tls of [false, true]) {
        it(`busybox sh parses it (tls ${tls}); no password on any command line`, () => {
            const dir = makeTempDir("redis-acl-sh");
            try {
                const file = path.join(dir, "s.sh");
                fs.writeFileSync(file, aclReconcileScript(SCRIPT(tls)));
                execFileSync("busybox", ["sh", "-n", file]);
            } finally {
                removeTempDir(dir);
            }
            const s = aclReconcileScript(SCRIPT(tls));
            // --user names the login (a user name); its password only ever comes through REDISCLI_AUTH.
            assert.ok(!/redis-cli[^\n]* -a /.test(s) && !/--pass /.test(s) && !/--user [^"]/.test(s.replace(/--user "\$user_"/g, "")), "no credential flag on redis-cli");
            assert.match(s, /REDISCLI_AUTH="\$\(cat /);
        });
    }

    it("phase 1 adds (no reset), phase 2 resets and deletes, and phase 2 runs only when phase 1 reached every pod", () => {
        const s = aclReconcileScript(SCRIPT(false));
        const exitBeforePhase2 = s.indexOf("not applied on:");
        const phase2 = s.indexOf('phase2_on "$addr" "$pod" "$work/declared" "$work/declared.names" "$phase2"');
        assert.ok(exitBeforePhase2 > 0 && exitBeforePhase2 < phase2);
        assert.ok(s.indexOf('apply "$addr" "$phase1"') < exitBeforePhase2);
        // The switches (masterauth, Sentinel auth-pass/sentinel-pass) after phase 1 everywhere, before any removal.
        assert.ok(exitBeforePhase2 < s.indexOf('apply "$addr" "$r_switch"') && s.indexOf('apply "$saddr" "$s_switch"') < phase2);
        // The wait for the pods' reports, between the switches and phase 2, and only when an operations user changed.
        const wait = s.indexOf("SUBSCRIBE msa:mounted-secrets");
        assert.ok(s.indexOf('apply "$saddr" "$s_switch"') < wait && wait < phase2);
        assert.match(s, /if \[ -n "\$ops" \]; then/);
        const entries = [
            { name: "default", rules: "on #" + "a".repeat(64) + " ~* &* +@all" },
            { name: "carts", rules: "on #" + "b".repeat(64) + " resetchannels ~cart:* &cart:* +@all -@dangerous" },
        ];
        assert.strictEqual(aclSetuserCommands(entries, 1), `ACL SETUSER default ${entries[0].rules}\nACL SETUSER carts ${entries[1].rules}\n`);
        assert.strictEqual(aclSetuserCommands(entries, 2), `ACL SETUSER default reset ${entries[0].rules}\nACL SETUSER carts reset ${entries[1].rules}\n`);
    });

    // What the Job sends is known at render time (a reader of the manifests can check no command removes a
    // password): the SETUSER commands only from the rendered files, unchanged; a deleted user's name only as
    // one quoted argument.
    it("no command text is generated at run time: redis-cli's stdin is a rendered file, ACL DELUSER takes the name as an argument", () => {
        // The script's code, without its comments.
        const s = aclReconcileScript(SCRIPT(true))
            .split("\n")
            .filter((l) => !/^\s*#/.test(l))
            .join("\n");
        assert.doesNotMatch(s, /ACL SETUSER/, "the script writes ACL SETUSER text itself");
        assert.deepStrictEqual(s.match(/ACL DELUSER.*/g), ['ACL DELUSER "$2")" || true'], "ACL DELUSER other than with a quoted argument");
        // The only redis-cli stdin redirections: the rendered command files.
        assert.deepStrictEqual(s.match(/cli [^\n|]*<[^\n]*/g), ['cli "$1" < "$2" > "$work/reply" || true']);
        assert.deepStrictEqual(s.match(/apply "[^"]*" "[^"]*"/g), ['apply "$1" "$5"', 'apply "$addr" "$phase1"', 'apply "$saddr" "$s_phase1"', 'apply "$addr" "$r_switch"', 'apply "$saddr" "$s_switch"']);
        // phase2_on's $5: only the rendered phase-2 files.
        assert.deepStrictEqual(s.match(/phase2_on "[^"]*" "[^"]*" "[^"]*" "[^"]*" "[^"]*"/g), [
            'phase2_on "$addr" "$pod" "$work/declared" "$work/declared.names" "$phase2"',
            'phase2_on "$saddr" "sentinel of $pod" "$work/s.declared" "$work/s.declared.names" "$s_phase2"',
        ]);
        assert.match(s, new RegExp(`^phase1=${REDIS_PATHS.acl}/${REDIS_ACL_COMMAND_KEYS.phase1}$`, "m"));
        assert.match(s, new RegExp(`^phase2=${REDIS_PATHS.acl}/${REDIS_ACL_COMMAND_KEYS.phase2}$`, "m"));
        assert.doesNotMatch(s, /\| *cli|echo "ACL/, "commands piped into redis-cli from text the script makes");
    });

    it("pods file: one line per pod through the headless Service", () => {
        assert.strictEqual(
            aclReconcilePodsFile({ app: "redis", namespace: "cache", replicas: 2 }),
            "redis-0 redis-0.redis-headless.cache.svc.cluster.local:6379\nredis-1 redis-1.redis-headless.cache.svc.cluster.local:6379\n",
        );
    });
});

describe("Redis users: what the ACL file and the script are given is validated first (exit 2 naming the key)", () => {
    const cases: [string, unknown, RegExp][] = [
        ["a name with a space", { name: "a b" }, /redis\.users\[0\]\.name/],
        ["a name with a command substitution", { name: "$(id)" }, /redis\.users\[0\]\.name/],
        ["a name with a newline (a second ACL line)", { name: "a\nuser evil on nopass ~* +@all" }, /redis\.users\[0\]\.name/],
        ["a key pattern with a space (a second rule)", { name: "a", keyPattern: "a:* +@all" }, /redis\.users\[0\]\.keyPattern/],
        ["a key pattern with a quote", { name: "a", keyPattern: "a'*" }, /redis\.users\[0\]\.keyPattern/],
        ["a key pattern with a newline", { name: "a", keyPattern: "a:*\nACL DELUSER default" }, /redis\.users\[0\]\.keyPattern/],
        ["a key pattern with a password rule", { name: "a", keyPattern: ">pw" }, /redis\.users\[0\]\.keyPattern/],
        ["a reserved name", { name: "default" }, /redis\.users\[\]\.name/],
    ];
    for (const [what, user, key] of cases) {
        it(what, () => {
            const p = problems({ redis: { users: [user] } });
            assert.ok(p.some((x) => key.test(x)), `expected a problem naming ${key}, got ${JSON.stringify(p)}`);
        });
    }
});
