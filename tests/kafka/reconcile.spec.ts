// The reconcile Job's script (components/kafka/reconcile.ts) run with bash against stand-ins for Kafka's
// admin tools: they print what the cluster has, in the tools' own listing formats, and record every change
// the script asks for. Proves which ACLs and topics the script considers its own and the order of its
// changes. (tests/servers/kafka/3-access.spec.ts runs the same script against real Kafka.)

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { RECONCILE_SCRIPT, reconcileFiles } from "../../components/kafka";
import { makeTempDir, randomToken, removeTempDir, run } from "../../scripts/lib/servers";

/** What the stand-in tools list: `kafka-topics.sh --describe` and `kafka-acls.sh --list` output. */
interface Cluster {
    topics: { name: string; partitions: number; rf: number }[];
    acls: { resource: string; principal: string; host: string; operation: string; permission: string }[];
    /** Users with SCRAM credentials: name → mechanisms (`kafka-configs.sh --describe --entity-type users`). */
    scram?: Record<string, string[]>;
}

/** The users' SCRAM listing as kafka-configs.sh 3.8 prints it. */
function scramListing(c: Cluster): string {
    return Object.entries(c.scram ?? {})
        .map(([u, mechs]) => `SCRAM credential configs for user-principal '${u}' are ${mechs.map((m) => `${m}=iterations=8192`).join(", ")}\n`)
        .join("");
}

/** Extra inputs of a run: password files by user (written where scram-users points), a tool run that fails. */
interface RunOptions {
    passwords?: Record<string, string>;
    /** A call whose command line contains this fails (exit 1). */
    failOn?: string;
    /** The script's wait probe (`kafka-topics.sh --list`): its first `failures` runs print `text` and exit 1 (all of them when -1). */
    probe?: { failures: number; text: string };
    env?: Record<string, string>;
}

function topicsListing(c: Cluster): string {
    return c.topics.map((t) => `Topic: ${t.name}\tTopicId: x\tPartitionCount: ${t.partitions}\tReplicationFactor: ${t.rf}\tConfigs: \n`).join("");
}

function aclListing(c: Cluster): string {
    const byResource = new Map<string, Cluster["acls"]>();
    for (const a of c.acls) byResource.set(a.resource, [...(byResource.get(a.resource) ?? []), a]);
    return [...byResource]
        .map(([resource, acls]) => {
            const [type, pattern, name] = resource.split(" ");
            const lines = acls.map((a) => `\t(principal=${a.principal}, host=${a.host}, operation=${a.operation}, permissionType=${a.permission})`);
            return `Current ACLs for resource \`ResourcePattern(resourceType=${type}, name=${name}, patternType=${pattern})\`: \n${lines.join("\n")} \n\n`;
        })
        .join("");
}

/** Runs the script; returns the changes it asked the tools for, in order. */
async function reconcile(cluster: Cluster, files: Record<string, string>, opts: RunOptions = {}): Promise<{ probes: number; code: number | null; calls: string[]; stdout: string; credentials: string[] }> {
    const dir = makeTempDir("kafka-reconcile");
    try {
        const spec = path.join(dir, "spec");
        const bin = path.join(dir, "bin");
        fs.mkdirSync(spec);
        fs.mkdirSync(bin);
        // The mounted Secrets (the admin's login, each user's password) under the run's directory.
        const etc = path.join(dir, "etc");
        const relocate = (t: string) => t.split("/etc/kafka/").join(`${etc}/`);
        for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(spec, name), name === "reconcile.sh" ? text : relocate(text));
        fs.mkdirSync(path.join(etc, "admin"), { recursive: true });
        fs.writeFileSync(path.join(etc, "admin", "sasl.jaas.config"), "x");
        for (const [u, pw] of Object.entries(opts.passwords ?? {})) {
            fs.mkdirSync(path.join(etc, "users", u), { recursive: true });
            fs.writeFileSync(path.join(etc, "users", u, "password"), pw);
        }
        fs.writeFileSync(path.join(dir, "topics.txt"), topicsListing(cluster));
        fs.writeFileSync(path.join(dir, "acls.txt"), aclListing(cluster));
        fs.writeFileSync(path.join(dir, "scram.txt"), scramListing(cluster));
        const log = path.join(dir, "calls.log");
        const probeCount = path.join(dir, "probe.count");
        const probeText = path.join(dir, "probe.txt");
        fs.writeFileSync(probeText, `${opts.probe?.text ?? ""}\n`);
        const credentials = path.join(dir, "credentials.log");
        // Each stand-in prints the listing for a read and records anything else it is asked to do (and the
        // content of an --add-config-file, read when called: the script removes it afterwards).
        const tool = (name: string, read: string, listing: string) =>
            fs.writeFileSync(
                path.join(bin, name),
                `#!/bin/bash\n` +
                    // The wait probe: a read, not a change; fails as told, counting its runs.
                    `case " $* " in *" --list "*) if [ "${name}" = kafka-topics.sh ]; then n=$(( $(cat ${probeCount} 2>/dev/null || echo 0) + 1 )); echo $n > ${probeCount}; ` +
                    `if [ ${opts.probe?.failures ?? 0} -lt 0 ] || [ $n -le ${opts.probe?.failures ?? 0} ]; then cat ${probeText} >&2; exit 1; fi; exit 0; fi ;; esac\n` +
                    (opts.failOn ? `case "$*" in *${JSON.stringify(opts.failOn)}*) echo "${name}: stand-in failure" >&2; exit 1 ;; esac\n` : "") +
                    `for a in "$@"; do if [ "$a" = "${read}" ]; then case "$*" in *"--entity-type users"*) cat ${path.join(dir, "scram.txt")} ;; *) cat ${listing} ;; esac; exit 0; fi; done\n` +
                    `prev=""; for a in "$@"; do if [ "$prev" = "--add-config-file" ]; then cat "$a" >> ${credentials}; fi; prev="$a"; done\n` +
                    `echo "${name} $*" | sed 's/--bootstrap-server [^ ]* --command-config [^ ]* //; s#${dir}#<run>#g' >> ${log}\n`,
                { mode: 0o755 },
            );
        tool("kafka-topics.sh", "--describe", path.join(dir, "topics.txt"));
        tool("kafka-configs.sh", "--describe", "/dev/null");
        tool("kafka-acls.sh", "--list", path.join(dir, "acls.txt"));
        const script = relocate(RECONCILE_SCRIPT.replace("bin=/opt/kafka/bin", `bin=${bin}`).replace("work=/tmp/reconcile", `work=${path.join(dir, "work")}`));
        assert.ok(script.includes(`bin=${bin}`) && script.includes(path.join(dir, "work")), "the script's tool and work paths were replaced");
        fs.writeFileSync(path.join(spec, "reconcile.sh"), script);
        const res = await run("bash", [path.join(spec, "reconcile.sh")], { env: { PATH: process.env.PATH, ...opts.env }, timeoutMs: 30_000 });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
        const work = path.join(dir, "work");
        const left = fs.existsSync(work) ? fs.readdirSync(work).filter((f) => f.startsWith("scram")) : [];
        assert.deepStrictEqual(left.filter((f) => f !== "scram.now"), [], "no credential file is left in the work directory");
        const probes = fs.existsSync(probeCount) ? Number(fs.readFileSync(probeCount, "utf8")) : 0;
        return { probes, code: res.code, calls, stdout: res.stdout + res.stderr, credentials: fs.existsSync(credentials) ? fs.readFileSync(credentials, "utf8").trim().split("\n") : [] };
    } finally {
        removeTempDir(dir);
    }
}

describe("Kafka reconcile script (bash, stand-in admin tools)", () => {
    const files = reconcileFiles({
        namespace: "messaging",
        tls: false,
        clientAuth: "none",
        topics: [{ name: "orders", partitions: 3, replicationFactor: 1, configs: {} }],
        users: [{ name: "shop", topics: [{ name: "orders", pattern: "literal", access: ["write"] }], groups: [] }],
        deleteUndeclaredTopics: true,
    });

    it("removes only ACLs of the shape it writes; an operator's DENY, User:*, another host and another operation stay; adds before it removes", async () => {
        const r = await reconcile(
            {
                topics: [{ name: "orders", partitions: 3, rf: 1 }],
                acls: [
                    // A grant this program wrote for a user no longer declared: removed.
                    { resource: "TOPIC LITERAL orders", principal: "User:gone", host: "*", operation: "WRITE", permission: "ALLOW" },
                    // An operator's emergency DENY, a wildcard grant, a host-limited grant, a DESCRIBE grant: kept.
                    { resource: "TOPIC LITERAL orders", principal: "User:mallory", host: "*", operation: "READ", permission: "DENY" },
                    { resource: "TOPIC LITERAL orders", principal: "User:*", host: "*", operation: "READ", permission: "ALLOW" },
                    { resource: "TOPIC LITERAL orders", principal: "User:audit", host: "10.1.2.3", operation: "READ", permission: "ALLOW" },
                    { resource: "TOPIC LITERAL orders", principal: "User:audit", host: "*", operation: "DESCRIBE", permission: "ALLOW" },
                    { resource: "CLUSTER LITERAL kafka-cluster", principal: "User:ops", host: "*", operation: "ALTER", permission: "ALLOW" },
                ],
            },
            files,
        );
        assert.strictEqual(r.code, 0, r.stdout);
        const acl = r.calls.filter((c) => c.startsWith("kafka-acls.sh"));
        assert.deepStrictEqual(acl, [
            "kafka-acls.sh --add --resource-pattern-type literal --allow-principal User:shop --allow-host * --operation WRITE --topic orders",
            "kafka-acls.sh --remove --resource-pattern-type literal --allow-principal User:gone --allow-host * --operation WRITE --topic orders --force",
        ]);
    });

    it("deleteUndeclaredTopics deletes an undeclared topic but never another tool's internal topics", async () => {
        const internal = ["_schemas", "_confluent-license", "shop-app-store-changelog", "shop-app-KSTREAM-repartition", "connect-configs", "connect-offsets", "connect-status", "mm2-offset-syncs.east.internal", "east.checkpoints.internal", "heartbeats"];
        const r = await reconcile({ topics: [{ name: "orders", partitions: 3, rf: 1 }, { name: "stale", partitions: 1, rf: 1 }, ...internal.map((name) => ({ name, partitions: 1, rf: 1 }))], acls: [] }, files);
        assert.strictEqual(r.code, 0, r.stdout);
        const deleted = r.calls.filter((c) => c.includes("--delete"));
        assert.deepStrictEqual(deleted, ["kafka-topics.sh --delete --if-exists --topic ^stale$"]);
        for (const t of internal) assert.match(r.stdout, new RegExp(`kept topic ${t.replace(/[.]/g, "[.]")}: not declared, but another tool's internal topic`));
    });
});

describe("Kafka reconcile script: SCRAM-SHA-512 users (bash, stand-in admin tools)", () => {
    const users = ["shop", "billing"].map((name) => ({ name, topics: [], groups: [] }));
    const files = reconcileFiles({ namespace: "messaging", tls: false, clientAuth: "sasl", topics: [], users, deleteUndeclaredTopics: false });
    const passwords = { shop: randomToken(24), billing: randomToken(24) };

    it("sets every declared user's credential from its password file (never an argument), creates the new ones, deletes only undeclared SCRAM-SHA-512 users", async () => {
        const r = await reconcile(
            { topics: [], acls: [], scram: { shop: ["SCRAM-SHA-512"], gone: ["SCRAM-SHA-512"], legacy: ["SCRAM-SHA-256"], admin: ["SCRAM-SHA-512"] } },
            files,
            { passwords },
        );
        assert.strictEqual(r.code, 0, r.stdout);
        assert.deepStrictEqual(r.calls, [
            "kafka-configs.sh --alter --entity-type users --entity-name shop --add-config-file <run>/work/scram-credential.properties",
            "kafka-configs.sh --alter --entity-type users --entity-name billing --add-config-file <run>/work/scram-credential.properties",
            // Deleted last (after the ACL step); admin's is kept (a reserved login), legacy's SCRAM-SHA-256 is an operator's.
            "kafka-configs.sh --alter --entity-type users --entity-name gone --delete-config SCRAM-SHA-512",
        ]);
        assert.deepStrictEqual(r.credentials, [`SCRAM-SHA-512=iterations=8192,password=${passwords.shop}`, `SCRAM-SHA-512=iterations=8192,password=${passwords.billing}`]);
        for (const pw of Object.values(passwords)) assert.ok(!r.stdout.includes(pw) && !r.calls.join("\n").includes(pw), "a password in the output or in arguments");
        assert.match(r.stdout, /^reconcile: created SCRAM-SHA-512 user billing$/m);
        assert.match(r.stdout, /^reconcile: set the SCRAM-SHA-512 credentials of shop from their Secrets/m);
        assert.match(r.stdout, /^reconcile: deleted SCRAM-SHA-512 user gone: no longer declared$/m);
        assert.match(r.stdout, /^reconcile: kept the SCRAM-SHA-512 credential of admin: a reserved login$/m);
        assert.match(r.stdout, /^reconcile: done: changes=2 problems=0$/m);
    });

    it("refuses (exit 2, naming scram-users) a hostile name, a missing or malformed password, before any change", async () => {
        const cases: [string, Record<string, string>, RegExp][] = [
            [`x;reboot /etc/kafka/users/shop/password\n`, passwords, /refused: scram-users: 'x\\;reboot' is not a user name \(accepted: \[a-z\]\[a-z0-9_\]\{0,31\}/],
            [`shop $(reboot)\n`, passwords, /refused: scram-users: the line of user shop is not '<user> <absolute path of its password file>'/],
            [files["scram-users"], { shop: passwords.shop }, /refused: scram-users: no password for user billing: .*users\/billing\/password is missing/],
            [files["scram-users"], { ...passwords, billing: "two words" }, /refused: scram-users: the password of user billing .* is empty or holds other than printable ASCII without spaces/],
            [files["scram-users"], { ...passwords, billing: "a\nb" }, /refused: scram-users: the password of user billing/],
            [files["scram-users"], { ...passwords, billing: "" }, /refused: scram-users: the password of user billing/],
        ];
        for (const [list, pws, message] of cases) {
            const r = await reconcile({ topics: [], acls: [], scram: { gone: ["SCRAM-SHA-512"] } }, { ...files, "scram-users": list }, { passwords: pws });
            assert.strictEqual(r.code, 2, `${JSON.stringify(list)}: ${r.stdout}`);
            assert.match(r.stdout, message);
            assert.deepStrictEqual(r.calls, [], "nothing changed");
        }
    });

    it("a failing tool run ends the run non-zero, naming the step; nothing after it is done", async () => {
        const r = await reconcile({ topics: [], acls: [], scram: { gone: ["SCRAM-SHA-512"] } }, files, { passwords, failOn: "--entity-name billing" });
        assert.strictEqual(r.code, 1, r.stdout);
        assert.match(r.stdout, /^reconcile: failed while setting the SCRAM-SHA-512 credential of user billing \(exit 1\); what was applied before stays, the next run completes the rest$/m);
        assert.deepStrictEqual(r.calls, ["kafka-configs.sh --alter --entity-type users --entity-name shop --add-config-file <run>/work/scram-credential.properties"]);
        assert.doesNotMatch(r.stdout, /reconcile: done/);
    });

    it("waits for the brokers (a fresh install starts the Job with them): a probe failing twice is retried, with a progress line, then the run proceeds", async () => {
        const r = await reconcile({ topics: [], acls: [] }, files, { passwords, probe: { failures: 2, text: "Error while executing topic command : Timed out waiting for a node assignment. Call: listTopics" } });
        assert.strictEqual(r.code, 0, r.stdout);
        assert.strictEqual(r.probes, 3);
        assert.match(r.stdout, /^reconcile: waiting for the brokers at kafka\.messaging\.svc\.cluster\.local:9092 \(\d+ s of 300 s\): Error while executing topic command : Timed out waiting for a node assignment/m);
        assert.match(r.stdout, /^reconcile: the brokers at kafka\.messaging\.svc\.cluster\.local:9092 answer after \d+ s$/m);
        assert.match(r.stdout, /reconcile: done/);
    });

    it("the bound passed (shortened to 3 s): exits 1 naming the bootstrap address and the last error, nothing changed", async () => {
        const r = await reconcile({ topics: [], acls: [] }, files, { passwords, probe: { failures: -1, text: "org.apache.kafka.common.config.ConfigException: No resolvable bootstrap urls given in bootstrap.servers" }, env: { RECONCILE_WAIT_SECONDS: "3" } });
        assert.strictEqual(r.code, 1, r.stdout);
        assert.match(r.stdout, /^reconcile: the brokers at kafka\.messaging\.svc\.cluster\.local:9092 did not answer within 3 s; last error: org\.apache\.kafka\.common\.config\.ConfigException: No resolvable bootstrap urls/m);
        assert.deepStrictEqual(r.calls, []);
    });

    it("a refused login (SaslAuthenticationException) is not waited on: exits 1 at once naming it, nothing changed", async () => {
        const r = await reconcile({ topics: [], acls: [] }, files, { passwords,
            probe: { failures: -1, text: "Error while executing topic command : Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN\norg.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed" },
        });
        assert.strictEqual(r.code, 1, r.stdout);
        assert.strictEqual(r.probes, 1, "a refused login was retried");
        assert.match(r.stdout, /refuse the admin's login: Error while executing topic command : Authentication failed .*a wrong password is not waited on/);
        assert.doesNotMatch(r.stdout, /waiting for/);
        assert.deepStrictEqual(r.calls, []);
    });

    it("without client authentication there are no SCRAM users to set", () => {
        assert.strictEqual(reconcileFiles({ namespace: "m", tls: false, clientAuth: "none", topics: [], users, deleteUndeclaredTopics: false })["scram-users"], "");
        assert.strictEqual(files["scram-users"], "shop /etc/kafka/users/shop/password\nbilling /etc/kafka/users/billing/password\n");
    });
});
