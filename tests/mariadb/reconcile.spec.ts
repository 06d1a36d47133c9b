// MariaDB's reconcile Job (components/mariadb/reconcile.ts): the SQL it applies, what it may show, and the
// promise it exists for: on the dev and prod renders, a database+user declared (or a password rotated) leaves
// the StatefulSet's pod template as it is (no pod restarts) and names a new reconcile Job (which applies it).

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import {
    grantDatabase,
    MARIADB_GENERATED,
    MARIADB_RECONCILE_SCRIPT,
    nativePasswordHash,
    RECONCILE_PRIVILEGES,
    reconcileAccountStatements,
    reconcileSecretFiles,
    reconcileSpecFiles,
    reconcileStatements,
} from "../../components/mariadb";
import { renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { randomToken } from "../../scripts/lib/servers";
import { RECONCILE_WAIT_ENV } from "../../components/reconcileWait";
import { stackConfig } from "../helpers/kafka/rendered";
import { mariadbPasswordKey } from "../helpers/mariadbRendered";
import { secretData } from "../../scripts/lib/rendered";

describe("MariaDB reconcile Job: SQL text", function () {
    const users = [
        { database: "shop_a", user: "shop", password: "Pw1Pw1Pw1" },
        { database: "auth", user: "auth", password: "Xy9Xy9Xy9" },
    ];

    it("stores the mysql_native_password hash, never the password, in every statement (so the binary log and errors carry no password)", function () {
        // The server's own PASSWORD('password').
        assert.strictEqual(nativePasswordHash("password"), "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19");
        const all = [...reconcileStatements({ root: "RootPw123", users, backup: true }), ...reconcileAccountStatements("JobPw456")];
        for (const pw of ["RootPw123", "JobPw456", ...users.map((u) => u.password)]) {
            assert.ok(!all.some((s) => s.sql.includes(pw)), `a statement holds the password ${pw}`);
        }
        const sql = all.map((s) => s.sql);
        assert.ok(sql.includes(`ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY PASSWORD '${nativePasswordHash("RootPw123")}';`), sql.join("\n"));
        assert.ok(sql.includes(`CREATE USER IF NOT EXISTS 'shop'@'%' IDENTIFIED BY PASSWORD '${nativePasswordHash("Pw1Pw1Pw1")}';`));
        assert.ok(sql.includes(`ALTER USER 'shop'@'%' IDENTIFIED BY PASSWORD '${nativePasswordHash("Pw1Pw1Pw1")}';`), "a rotation is an ALTER USER on every run");
    });

    it("grants each user ALL on its own database only ('_' escaped), the backup account read access when backups are on, and records ownership", function () {
        const sql = reconcileStatements({ root: "r", users, backup: true }).map((s) => s.sql);
        assert.ok(sql.includes("GRANT ALL PRIVILEGES ON `shop\\_a`.* TO 'shop'@'%';"), sql.join("\n"));
        assert.ok(sql.includes("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON `shop\\_a`.* TO 'backup'@'%';"));
        assert.ok(sql.includes("REPLACE INTO `msa_reconcile`.users (user, db) VALUES ('shop', 'shop_a');"));
        assert.ok(!reconcileStatements({ root: "r", users, backup: false }).some((s) => s.sql.includes("'backup'")), "no backup grant without backups");
        assert.strictEqual(grantDatabase("a_b%c"), "`a\\_b\\%c`");
        // One statement per line, each idempotent (a failed run is completed by the next): no bare CREATE.
        for (const s of sql) {
            assert.ok(!s.includes("\n") && s.endsWith(";"), s);
            assert.doesNotMatch(s, /^CREATE (USER|DATABASE|TABLE) (?!IF NOT EXISTS)/, s);
        }
    });

    it("the shown statements match the applied ones line for line, with the hashes redacted", function () {
        const applied = reconcileSecretFiles({ namespace: "db", tls: false, root: "RootPw123", reconcile: "JobPw456", users, backup: true })["apply.sql"].split("\n");
        const shown = reconcileSpecFiles({ users, backup: true })["apply.shown"].split("\n");
        assert.strictEqual(shown.length, applied.length);
        shown.forEach((line, i) => assert.strictEqual(line, applied[i].replace(/PASSWORD '\*[0-9A-F]{40}'/, "PASSWORD <hash>"), `line ${i + 1}`));
        assert.ok(!shown.some((l) => /\*[0-9A-F]{40}/.test(l)));
    });

    it("the operations accounts' passwords: ALTER USER IF EXISTS with the hash on the primary, the replicas' CHANGE MASTER from a Secret file, nothing shown", function () {
        const operations = { backup: "BackupPw1", exporter: "ExporterPw2", replication: "ReplPw3" };
        const files = reconcileSecretFiles({ namespace: "db", tls: false, root: "RootPw123", reconcile: "JobPw456", users, backup: true, operations, replicas: ["mariadb-1.x"] });
        const sql = files["apply.sql"].split("\n");
        assert.ok(sql.includes(`ALTER USER IF EXISTS 'backup'@'%' IDENTIFIED BY PASSWORD '${nativePasswordHash("BackupPw1")}';`), files["apply.sql"]);
        assert.ok(sql.includes(`ALTER USER IF EXISTS 'exporter'@'localhost' IDENTIFIED BY PASSWORD '${nativePasswordHash("ExporterPw2")}';`));
        assert.ok(sql.includes(`ALTER USER IF EXISTS 'replication'@'%' IDENTIFIED BY PASSWORD '${nativePasswordHash("ReplPw3")}';`));
        for (const pw of Object.values(operations)) assert.ok(!files["apply.sql"].includes(pw), `apply.sql holds ${pw}`);
        // CHANGE MASTER takes only the password itself: in the Job's Secret, never in its ConfigMap or output.
        assert.strictEqual(files["replica.sql"], "CHANGE MASTER TO MASTER_PASSWORD = 'ReplPw3';\n");
        const spec = reconcileSpecFiles({ users, backup: true, operations: ["backup", "exporter", "replication"], replicas: ["mariadb-1.x"] });
        assert.strictEqual(spec.replicas, "mariadb-1.x 3306\n");
        assert.ok(!Object.values(spec).some((t) => Object.values(operations).some((pw) => t.includes(pw))), "the ConfigMap holds a password");
        const shown = spec["apply.shown"].split("\n");
        assert.strictEqual(shown.length, sql.length);
        shown.forEach((line, i) => assert.strictEqual(line, sql[i].replace(/PASSWORD '\*[0-9A-F]{40}'/, "PASSWORD <hash>"), `line ${i + 1}`));
        assert.match(MARIADB_RECONCILE_SCRIPT, /on < "\$creds\/replica\.sql"/, "the replica's statement is read from the Secret file, not given on a command line");
        // Not replicated, no backups: neither the file nor the statements.
        const plain = reconcileSecretFiles({ namespace: "db", tls: false, root: "r", reconcile: "j", users, backup: false });
        assert.ok(!("replica.sql" in plain) && !/backup'|exporter'|replication'/.test(plain["apply.sql"].replace(/GRANT .*/g, "")), plain["apply.sql"]);
    });

    it("the Job's account: CREATE USER and the grantable database privileges, nothing that administers the server", function () {
        const grant = reconcileAccountStatements("p").map((s) => s.sql).find((s) => s.startsWith("GRANT "))!;
        assert.match(grant, /CREATE USER/);
        assert.match(grant, /WITH GRANT OPTION;$/);
        for (const p of ["SUPER", "SHUTDOWN", "FILE", "PROCESS", "READ_ONLY ADMIN", "REPLICATION SLAVE", "BINLOG ADMIN", "RELOAD", "ALL PRIVILEGES"]) {
            assert.ok(!RECONCILE_PRIVILEGES.includes(p), p);
        }
    });

    it("the script drops only users it recorded, keeps their databases, and never prints a password", function () {
        assert.match(MARIADB_RECONCILE_SCRIPT, /DROP USER IF EXISTS '\$user'@'%';/);
        assert.doesNotMatch(MARIADB_RECONCILE_SCRIPT, /DROP DATABASE/);
        assert.doesNotMatch(MARIADB_RECONCILE_SCRIPT, /sql_log_bin/, "replicas get the changes through replication");
        assert.doesNotMatch(MARIADB_RECONCILE_SCRIPT, /cat "\$creds\//, "the script never prints a credential file");
    });
});

describe("MariaDB day-2 changes leave the StatefulSet's pod template unchanged (dev and prod renders)", function () {
    const seed = "reconcile-template";
    const render = async (stack: string, config: Record<string, unknown>, generated?: Record<string, string>) =>
        (await renderStack(stack, { config, seed, withSecrets: true, generated: generated && new Map(Object.entries(generated).map(([k, v]) => [k, { result: v }])) })).objects;
    const sts = (objects: Manifest[]) => objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "mariadb")!;
    const template = (objects: Manifest[]) => (sts(objects).spec as { template: unknown }).template;
    const secret = (objects: Manifest[], name: string) => secretData(objects.find((o) => o.kind === "Secret" && o.metadata.name === name)!);
    const jobName = (objects: Manifest[]) => objects.find((o) => o.kind === "Job" && String(o.metadata.name).startsWith("mariadb-reconcile-"))?.metadata.name;

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: one more database+user, and root's password rotated: same pod template, a new reconcile Job`, async function () {
            const base = stackConfig(stack);
            const mariadb = (base.mariadb ?? {}) as { databases?: unknown[] };
            const before = await render(stack, base);
            const added = await render(stack, { ...base, mariadb: { ...mariadb, databases: [...(mariadb.databases ?? []), { name: "billing", user: "billing" }] } });
            assert.ok(isDeepStrictEqual(template(added), template(before)), `${stack}: adding a database+user changed the MariaDB StatefulSet's pod template (the pods would restart):\n` +
                `before: ${JSON.stringify((template(before) as { metadata: unknown }).metadata)}\nafter:  ${JSON.stringify((template(added) as { metadata: unknown }).metadata)}`);
            assert.ok(jobName(added) && jobName(added) !== jobName(before), `${stack}: the reconcile Job must get a new name (it runs again): ${jobName(before)} -> ${jobName(added)}`);
            const rotated = await render(stack, base, { [mariadbPasswordKey(MARIADB_GENERATED.rootPassword)]: "RotatedRoot0123456789abcdefABCDEF" });
            assert.ok(isDeepStrictEqual(template(rotated), template(before)), `${stack}: rotating root's password changed the pod template`);
            assert.notStrictEqual(jobName(rotated), jobName(before), `${stack}: a rotated root password must run the reconcile Job again`);
        });

        // Dev runs none of the operations accounts by default: its render with backups, the exporter and a replica.
        it(`${stack}: the backup, exporter and replication passwords rotated, one at a time: same pod template, a new reconcile Job`, async function () {
            const base = stackConfig(stack);
            const config =
                stack === "dev"
                    ? { ...base, monitoring: { exporters: true }, mariadb: { ...(base.mariadb as object), replicas: 2, backup: { enabled: true } } }
                    : base;
            const before = await render(stack, config);
            const init = secret(before, "mariadb-init");
            for (const id of [MARIADB_GENERATED.backupPassword, MARIADB_GENERATED.exporterPassword, MARIADB_GENERATED.replicationPassword]) {
                const rotated = await render(stack, config, { [mariadbPasswordKey(id)]: `Rotated${id.replace(/-/g, "")}0123456789abcdef` });
                assert.notDeepStrictEqual(secret(rotated, "mariadb-init"), init, `${stack}: ${id}: the init SQL must carry the new password (a pod that starts later sets it)`);
                assert.ok(isDeepStrictEqual(template(rotated), template(before)), `${stack}: rotating ${id} changed the MariaDB StatefulSet's pod template (the pods would restart):\n` +
                    `before: ${JSON.stringify((template(before) as { metadata: unknown }).metadata)}\nafter:  ${JSON.stringify((template(rotated) as { metadata: unknown }).metadata)}`);
                assert.ok(jobName(rotated) && jobName(rotated) !== jobName(before), `${stack}: ${id}: the reconcile Job must get a new name (it applies the password): ${jobName(before)} -> ${jobName(rotated)}`);
            }
            // Anything else in the init SQL still rolls the pods: here the backup account appears.
            const without = await render(stack, { ...config, mariadb: { ...(config.mariadb as object), backup: { enabled: false } } });
            assert.ok(!isDeepStrictEqual(template(without), template(before)), `${stack}: the backup account removed from the init SQL must roll the pods (the server creates accounts at start)`);
        });
    }
});

describe("MariaDB reconcile Job: the first login", function () {
    // The script against a stand-in `mariadb` client (first on PATH) that answers as the server did on the first
    // run of prod's render on real pods: the Job's account does not exist yet, and 10.11 refused it with ERROR
    // 1698 (not 1045). The Job must take that as "refused" and create its account as root at once, not wait for
    // the server until its bound runs out.
    function runFirstLogin(refusal: string): { code: number | null; out: string; ms: number } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mariadb-reconcile-login-"));
        try {
            const spec = path.join(dir, "spec");
            const creds = path.join(dir, "creds");
            const bin = path.join(dir, "bin");
            for (const d of [spec, creds, bin]) fs.mkdirSync(d);
            const i = { namespace: "db", tls: true, root: randomToken(24), reconcile: randomToken(24), users: [], backup: false };
            for (const [name, text] of Object.entries(reconcileSecretFiles(i))) fs.writeFileSync(path.join(creds, name), text);
            for (const [name, text] of Object.entries(reconcileSpecFiles({ users: [], backup: false }))) fs.writeFileSync(path.join(spec, name), text);
            fs.writeFileSync(path.join(spec, "reconcile.sh"), MARIADB_RECONCILE_SCRIPT, { mode: 0o755 });
            // The stand-in: the Job's account is refused until root ran account.sql; root's logins succeed;
            // @@read_only is 0; every other statement succeeds with no rows.
            fs.writeFileSync(
                path.join(bin, "mariadb"),
                [
                    "#!/bin/bash",
                    `state=${JSON.stringify(dir)}/created`,
                    'args="$*"',
                    'case "$args" in',
                    `  *reconcile.cnf*) [ -e "$state" ] || { echo ${JSON.stringify(refusal)} >&2; exit 1; } ;;`,
                    '  *root.cnf*) [ -t 0 ] || { cat > /dev/null; touch "$state"; } ;;',
                    "esac",
                    'case "$args" in *@@read_only*) echo 0 ;; esac',
                    "exit 0",
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
            const t0 = Date.now();
            const r = spawnSync("bash", [path.join(spec, "reconcile.sh")], {
                env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, RECONCILE_CREDENTIALS: creds, [RECONCILE_WAIT_ENV]: "4" },
                input: "",
                encoding: "utf8",
                timeout: 30_000,
            });
            return { code: r.status, out: `${r.stdout}${r.stderr}`, ms: Date.now() - t0 };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    for (const refusal of ["ERROR 1045 (28000): Access denied for user 'reconcile'@'10.0.0.11' (using password: YES)", "ERROR 1698 (28000): Access denied for user 'reconcile'@'10.0.0.11'"]) {
        it(`${refusal.slice(0, 10)}: the Job's account is refused, so root creates it at once (no wait for the server)`, function () {
            const r = runFirstLogin(refusal);
            assert.match(r.out, /reconcile: \(re\)created the account reconcile as root/, r.out);
            assert.doesNotMatch(r.out, /waiting for the server|did not answer/, r.out);
            assert.ok(r.ms < 3000, `took ${r.ms} ms: it waited`);
        });
    }
});
