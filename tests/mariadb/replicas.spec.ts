// MariaDB with replicas, without any runtime: the settings' validation, the plan (roles, objects, placement,
// the client Service's selector), the connection output, the start script's role decision (run with bash),
// and the prod render's Services and NetworkPolicies for replication.

import { PINNED_IMAGES } from "../helpers/config";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, parseStackConfig } from "../../components/stackConfig";
import {
    MARIADB_GENERATED,
    MARIADB_PATHS,
    MARIADB_PROBES,
    mariadbConnection,
    mariadbPodHost,
    mariadbRoleSql,
    mariadbStartScript,
    planMariaDb,
    POD_NAME_LABEL,
    PROMOTION_MARKER,
    REPLICATION_USER,
} from "../../components/mariadb";
import { allContainers, planProblems, resolveContent, ServicePlan } from "../../components/workload/plan";
import { renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { Any, find } from "../../scripts/lib/manifests";
import { connectionAllowed, Pod } from "../helpers/netpol";
import { makeTempDir, removeTempDir, run } from "../../scripts/lib/servers";

function configError(mariadb: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
    try {
        parseStackConfig({ ...extra, mariadb });
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.message;
    }
    assert.fail(`accepted ${JSON.stringify(mariadb)}`);
}

/** What a production stack must set besides its service settings. */
const PRODUCTION = { environment: "production", storageClass: "longhorn", protect: true, networkPolicies: { enabled: true, allowedNamespaces: ["app"] }, redis: { image: PINNED_IMAGES.redis } };
const MARIADB_IMAGE = { image: PINNED_IMAGES.mariadb };

function files(plan: ServicePlan): Map<string, string> {
    const values = Object.fromEntries(plan.generated.map((g) => [g.id, `value-of-${g.id}`]));
    return new Map(plan.objects.flatMap((o) => o.data.map((d) => [`${o.name}/${d.key}`, resolveContent(d.content, values)] as [string, string])));
}

describe("MariaDB settings: replicas, primary, semiSync", () => {
    it("defaults to a standalone server: 1 pod, primary 0, no semi-sync", () => {
        const m = parseStackConfig({}).mariadb;
        assert.deepStrictEqual([m.replicas, m.primary, m.semiSync], [1, 0, false]);
    });

    it("accepts 2 to 5 pods with any of them as the primary", () => {
        for (let replicas = 2; replicas <= 5; replicas++) {
            for (let primary = 0; primary < replicas; primary++) {
                const m = parseStackConfig({ mariadb: { replicas, primary, semiSync: true } }).mariadb;
                assert.deepStrictEqual([m.replicas, m.primary, m.semiSync], [replicas, primary, true]);
            }
        }
    });

    it("names the key, the value and what is accepted", () => {
        assert.match(configError({ replicas: 6 }), /msa-infra:mariadb\.replicas: 6 is not valid; expected 1 \(standalone\) or 2 to 5/);
        assert.match(configError({ replicas: 0 }), /msa-infra:mariadb\.replicas: 0 is not valid/);
        assert.match(configError({ replicas: 2, primary: 2 }), /msa-infra:mariadb\.primary: 2 is not valid; expected the ordinal of an existing pod: 0 to 1 \(mariadb\.replicas is 2\)/);
        assert.match(configError({ primary: 1 }), /msa-infra:mariadb\.primary: 1 is not valid; expected the ordinal of an existing pod: 0 \(mariadb\.replicas is 1\)/);
        assert.match(configError({ replicas: 2, primary: -1 }), /msa-infra:mariadb\.primary: -1 is not valid/);
        assert.match(configError({ replicas: 2, primary: "1" }), /msa-infra:mariadb\.primary: "1" is not valid/);
        assert.match(configError({ semiSync: true }), /msa-infra:mariadb\.semiSync: true needs mariadb\.replicas of 2 or more/);
        assert.match(configError({ replicas: 2, semiSync: "yes" }), /msa-infra:mariadb\.semiSync/);
        assert.match(configError({ databases: [{ name: "x", user: REPLICATION_USER }] }), /mariadb\.databases\[\]\.user: "replication" is not valid; expected an application user name other than .*replication/);
    });
});

describe("MariaDB plan with replicas", () => {
    it("every combination of pods, primary, TLS, semi-sync and environment is a sound plan", () => {
        for (const environment of ["development", "production"]) {
            for (const tls of [false, true]) {
                for (let replicas = 1; replicas <= 5; replicas++) {
                    for (let primary = 0; primary < replicas; primary++) {
                        const config = parseStackConfig({
                            ...(environment === "production" ? PRODUCTION : {}),
                            tls: { enabled: tls },
                            mariadb: { ...MARIADB_IMAGE, replicas, primary, semiSync: replicas > 1 },
                        });
                        assert.deepStrictEqual(planProblems(planMariaDb(config.mariadb, config)), [], `${environment} tls ${tls} ${replicas}/${primary}`);
                    }
                }
            }
        }
    });

    it("standalone: nothing of replication (the dev render stays as it was)", () => {
        const config = parseStackConfig({});
        const plan = planMariaDb(config.mariadb, config);
        const f = files(plan);
        assert.strictEqual(plan.clientSelector, undefined);
        assert.strictEqual(plan.workload.placement, undefined);
        assert.ok(!plan.generated.some((g) => g.id === MARIADB_GENERATED.replicationPassword));
        assert.ok(!f.has("mariadb-init/init-replica.sql") && !f.has("mariadb-replication/start.sh"));
        assert.doesNotMatch(f.get("mariadb-init/init.sql")!, /SLAVE|read_only|replication/);
        assert.doesNotMatch(f.get("mariadb-config/my.cnf")!, /gtid|log-bin|semi_sync/);
        assert.strictEqual(plan.workload.containers[0].command, undefined, "the image's own entrypoint and command");
        assert.deepStrictEqual(plan.workload.containers[0].probes.readiness?.exec?.command, MARIADB_PROBES.readiness, "the image's healthcheck.sh, no replication");
        assert.deepStrictEqual(allContainers(plan.workload).map((c) => c.name), ["prepare-volume", "mariadb"]);
        assert.strictEqual(mariadbConnection(config.mariadb, config).readHosts, undefined);
    });

    it("replicated: the client Service selects the primary, replicas point at it, the roles come from the ordinal", () => {
        for (const tls of [false, true]) {
            const config = parseStackConfig({ tls: { enabled: tls }, mariadb: { replicas: 3, primary: 1, semiSync: true } });
            const plan = planMariaDb(config.mariadb, config);
            const f = files(plan);
            const password = `value-of-${MARIADB_GENERATED.replicationPassword}`;
            assert.deepStrictEqual(plan.clientSelector, { [POD_NAME_LABEL]: "mariadb-1" });
            assert.ok(plan.generated.some((g) => g.id === MARIADB_GENERATED.replicationPassword && g.kind === "password"));
            const init = f.get("mariadb-init/init.sql")!;
            const replica = f.get("mariadb-init/init-replica.sql")!;
            for (const sql of [init, replica]) {
                assert.match(sql, /^SET SESSION sql_log_bin = 0;$/m, "accounts are per pod, never replicated");
                assert.ok(sql.includes(`CREATE USER IF NOT EXISTS 'replication'@'%' IDENTIFIED BY '${password}';`));
                assert.match(sql, /^GRANT REPLICATION SLAVE ON \*\.\* TO 'replication'@'%';$/m);
                assert.doesNotMatch(sql, /GRANT [^\n]*ON `[^`]*`\.\* TO 'replication'/, "no database privilege");
            }
            // The role first: init_file stops at the first failing statement, and a failing account statement
            // must not leave the primary without semi-sync or a replica without replication.
            assert.ok(init.startsWith(mariadbRoleSql({ primary: true, semiSync: true }).join("\n") + "\n"), init.slice(0, 200));
            assert.match(init, /^SET GLOBAL read_only = OFF;$/m);
            assert.match(init, /^SET GLOBAL rpl_semi_sync_master_enabled = ON;$/m);
            assert.match(replica, /^SET GLOBAL read_only = ON;$/m);
            assert.match(replica, /^SET GLOBAL gtid_strict_mode = ON;$/m, "replicas refuse a diverged history");
            assert.match(init, /^SET GLOBAL gtid_strict_mode = OFF;$/m, "the primary accepts a point-in-time replay");
            const change = replica.split("\n").find((l) => l.startsWith("CHANGE MASTER TO"))!;
            assert.ok(change.includes(`MASTER_HOST = '${mariadbPodHost(1, "db")}', MASTER_PORT = 3306, MASTER_USER = 'replication', MASTER_PASSWORD = '${password}', MASTER_USE_GTID = current_pos`), change);
            assert.strictEqual(change.includes("MASTER_SSL = 1, MASTER_SSL_CA = '/etc/mysql/tls/ca.crt', MASTER_SSL_VERIFY_SERVER_CERT = 1"), tls, `MASTER_SSL with tls ${tls}`);
            const lines = replica.split("\n");
            assert.ok(lines.indexOf("START SLAVE;") >= 0 && lines.indexOf("START SLAVE;") < lines.findIndex((l) => l.startsWith("ALTER USER")), "the replica starts replicating before any account statement");
            const cnf = f.get("mariadb-config/my.cnf")!;
            assert.doesNotMatch(cnf, /server_id/, "server_id comes from the start script, per pod");
            for (const line of ["log-bin", "log_slave_updates = ON", "skip_slave_start = ON", "rpl_semi_sync_slave_enabled = ON", "rpl_semi_sync_master_wait_point = AFTER_SYNC", "rpl_semi_sync_master_timeout = 10000"]) {
                assert.ok(cnf.split("\n").includes(line), `my.cnf: ${line}`);
            }
            const [server] = plan.workload.containers;
            assert.deepStrictEqual(server.command, ["bash", MARIADB_PATHS.startScript]);
            // The replicas' readiness reads SHOW REPLICA STATUS as the image's healthcheck accounts: granted on
            // every pod, unbinlogged, before any account statement (whose failure would skip it).
            for (const sql of [init, replica]) {
                const l = sql.split("\n");
                const grant = l.findIndex((x) => x.startsWith("SET @msa_healthcheck = (SELECT CONCAT('GRANT SLAVE MONITOR ON *.* TO '"));
                assert.ok(grant > l.indexOf("SET SESSION sql_log_bin = 0;") && grant < l.findIndex((x) => /^(ALTER|CREATE) USER/.test(x)), sql.slice(0, 400));
                assert.strictEqual(l[grant + 1], "EXECUTE IMMEDIATE IFNULL(@msa_healthcheck, 'DO 0');");
            }
            assert.deepStrictEqual(server.probes.readiness?.exec?.command, ["bash", MARIADB_PATHS.readinessScript], "readiness checks replication on replicas");
            assert.deepStrictEqual(server.probes.liveness?.exec?.command, MARIADB_PROBES.liveness, "liveness never checks replication");
            assert.match(f.get("mariadb-replication/ready.sh")!, /SHOW REPLICA STATUS/);
            assert.strictEqual(server.ports[0].peers, true, "replicas reach the primary's client port");
            assert.deepStrictEqual(allContainers(plan.workload).map((c) => c.name).slice(0, 3), ["prepare-volume", "clone-primary", "mariadb"]);
            // No credential on a command line or in an env value: the generated values appear only in Secrets.
            const values = plan.generated.map((g) => `value-of-${g.id}`);
            for (const c of allContainers(plan.workload)) {
                const text = JSON.stringify([c.command, c.env]);
                for (const v of values) assert.ok(!text.includes(v), `${c.name} carries ${v}`);
            }
            for (const [key, text] of f) {
                const object = plan.objects.find((o) => o.name === key.split("/")[0])!;
                if (text.includes(password)) assert.strictEqual(object.kind, "Secret", `${key} holds the replication password`);
            }
        }
    });

    it("placement: one pod per node in production (required), preferred in development, spread over zones", () => {
        const prod = parseStackConfig({ ...PRODUCTION, mariadb: { ...MARIADB_IMAGE, replicas: 2 } });
        assert.deepStrictEqual(planMariaDb(prod.mariadb, prod).workload.placement, { nodeSpread: "required", zoneSpread: true });
        const dev = parseStackConfig({ mariadb: { replicas: 2 } });
        assert.deepStrictEqual(planMariaDb(dev.mariadb, dev).workload.placement, { nodeSpread: "preferred", zoneSpread: true });
    });

    it("the connection output keeps its fields and adds the replicas by pod name", () => {
        const config = parseStackConfig({ tls: { enabled: true }, mariadb: { replicas: 3, primary: 1 } });
        const c = mariadbConnection(config.mariadb, config);
        const standalone = mariadbConnection(parseStackConfig({ tls: { enabled: true } }).mariadb, config);
        for (const k of Object.keys(standalone) as (keyof typeof c)[]) assert.deepStrictEqual(c[k], standalone[k], `${k} unchanged`);
        assert.strictEqual(c.host, "mariadb.db.svc.cluster.local");
        assert.deepStrictEqual(c.readHosts, [mariadbPodHost(0, "db"), mariadbPodHost(2, "db")]);
        assert.strictEqual(c.readHost, mariadbPodHost(0, "db"));
        assert.strictEqual(c.readJdbcUrl, `jdbc:mariadb:loadbalance://${mariadbPodHost(0, "db")}:3306,${mariadbPodHost(2, "db")}:3306/?sslMode=verify-full`);
    });
});

describe("MariaDB start script (run with bash): the role from the pod's ordinal", () => {
    let dir: string;
    before(() => {
        dir = makeTempDir("mariadb-start");
        fs.writeFileSync(path.join(dir, "docker-entrypoint.sh"), '#!/bin/bash\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    });
    after(() => removeTempDir(dir));
    const start = (hostname: string, primary: number) =>
        run("bash", ["-c", mariadbStartScript({ primary, namespace: "db", replicas: 11, tls: false })], { env: { PATH: `${dir}:${process.env.PATH}`, HOSTNAME: hostname } });

    it("primary: server_id = ordinal + 1 and nothing else; replica: read-only, the replica init SQL, crash recovery as a replica", async () => {
        const p = await start("mariadb-2", 2);
        assert.strictEqual(p.code, 0, p.stderr);
        assert.deepStrictEqual(p.stdout.trim().split("\n").slice(1), ["mariadbd", "--server-id=3"]);
        const r = await start("mariadb-10", 2);
        assert.deepStrictEqual(r.stdout.trim().split("\n").slice(1), ["mariadbd", "--server-id=11", "--read-only=ON", `--init-file=${MARIADB_PATHS.replicaInitFile}`, "--init-rpl-role=SLAVE"]);
        assert.match(r.stdout, /mariadb-10 is the replica of mariadb-2 \(server_id 11\)/);
    });

    it("a pod about to start writable asks every other pod, by its stable name, for read_only, data and a promotion marker", () => {
        const text = mariadbStartScript({ primary: 1, namespace: "db", replicas: 3, tls: true });
        assert.match(text, /for pod in mariadb-0=mariadb-0\.mariadb-headless\.db\.svc\.cluster\.local:3306 mariadb-1=mariadb-1\.mariadb-headless\.db\.svc\.cluster\.local:3306 mariadb-2=mariadb-2\.mariadb-headless\.db\.svc\.cluster\.local:3306; do/);
        assert.match(text, /if \[ "\$role" != replica \]; then/);
        assert.ok(text.includes(`SELECT CONCAT_WS('|', @@read_only + 0, @@gtid_current_pos, IFNULL(LOAD_FILE(CONCAT(@@datadir, '${PROMOTION_MARKER}')), ''))`));
        assert.match(text, /if \[ "\$role" = primary \] && \[ ! -d \/var\/lib\/mysql\/mariadb-data\/mysql \] && \[ -n "\$position" \]; then/);
        assert.match(text, /ssl-verify-server-cert/, "with TLS the other pods' certificates are verified");
        assert.doesNotMatch(mariadbStartScript({ primary: 1, namespace: "db", replicas: 3, tls: false }), /ssl-/);
    });

    describe("a promotion marker in the datadir (mariadb.primary 2; no other pod answers)", () => {
        const at = (marker: string | undefined) => {
            const datadir = path.join(dir, `datadir-${Math.random().toString(36).slice(2)}`);
            fs.mkdirSync(datadir);
            if (marker !== undefined) fs.writeFileSync(path.join(datadir, PROMOTION_MARKER), marker);
            return datadir;
        };
        const startAt = (hostname: string, datadir: string) =>
            run("bash", ["-c", mariadbStartScript({ primary: 2, namespace: "db", replicas: 3, tls: false }).split(MARIADB_PATHS.datadir).join(datadir)], {
                env: { PATH: `${dir}:${process.env.PATH}`, HOSTNAME: hostname },
            });
        const entrypoint = (stdout: string) => stdout.split("\n").filter((l) => l !== "" && !l.startsWith("start: "));

        it("naming this pod in place of the rendered primary: starts as the primary and keeps the marker", async () => {
            const d = at("holder=1 replaced=2 gtid=0-3-9 at=2026-01-01T00:00:00Z");
            const r = await startAt("mariadb-1", d);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(entrypoint(r.stdout), ["mariadbd", "--server-id=2"]);
            assert.match(r.stdout, /mariadb-1 was promoted in place of mariadb-2 \(holder=1 replaced=2 .*\) and mariadb\.primary still names 2: starting as the primary\. Record the promotion: pulumi config set --path mariadb\.primary 1 && pulumi up/);
            assert.ok(fs.existsSync(path.join(d, PROMOTION_MARKER)));
        });

        it("once mariadb.primary names its holder: removed, the pod starts as the primary", async () => {
            const d = at("holder=2 replaced=0 gtid=0-1-9 at=2026-01-01T00:00:00Z");
            const r = await startAt("mariadb-2", d);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(entrypoint(r.stdout), ["mariadbd", "--server-id=3"]);
            assert.match(r.stdout, /its promotion \(holder=2 replaced=0 .*\) is recorded; removing/);
            assert.ok(!fs.existsSync(path.join(d, PROMOTION_MARKER)));
        });

        it("once mariadb.primary has moved away from the pod it replaced: removed as stale, the pod starts as a replica", async () => {
            const d = at("holder=1 replaced=0 gtid=0-1-9 at=2026-01-01T00:00:00Z");
            const r = await startAt("mariadb-1", d);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(entrypoint(r.stdout), ["mariadbd", "--server-id=2", "--read-only=ON", `--init-file=${MARIADB_PATHS.replicaInitFile}`, "--init-rpl-role=SLAVE"]);
            assert.match(r.stdout, /removing a stale promotion marker \(holder=1 replaced=0 .*\): mariadb\.primary now names mariadb-2/);
            assert.ok(!fs.existsSync(path.join(d, PROMOTION_MARKER)));
        });

        it("that cannot be read as this pod's (empty after a crash, damaged, another pod's): the pod does not start", async () => {
            for (const text of ["", "holder=", "garbage", "holder=0 replaced=2 gtid=0-1-9"]) {
                const d = at(text);
                const r = await startAt("mariadb-1", d);
                assert.strictEqual(r.code, 1, `marker "${text}": ${r.stdout}`);
                assert.match(r.stderr, /is not a promotion marker of mariadb-1 .*refusing to start/);
                assert.deepStrictEqual(entrypoint(r.stdout), []);
                assert.ok(fs.existsSync(path.join(d, PROMOTION_MARKER)), "left for the operator");
            }
        });

        it("none: the role from mariadb.primary alone", async () => {
            const r = await startAt("mariadb-1", at(undefined));
            assert.deepStrictEqual(entrypoint(r.stdout), ["mariadbd", "--server-id=2", "--read-only=ON", `--init-file=${MARIADB_PATHS.replicaInitFile}`, "--init-rpl-role=SLAVE"]);
        });
    });

    it("scripts/promote-mariadb.sh writes the marker start.sh reads", () => {
        const script = fs.readFileSync(path.join(__dirname, "..", "..", "scripts", "promote-mariadb.sh"), "utf8");
        assert.match(script, new RegExp(`^marker=${PROMOTION_MARKER}$`, "m"));
        assert.ok(script.includes("INTO DUMPFILE"), "written by the server, before it becomes writable");
    });

    it("refuses a host name without an ordinal instead of guessing a role", async () => {
        for (const h of ["mariadb", "mariadb-x", ""]) {
            const r = await start(h, 0);
            assert.strictEqual(r.code, 1, `HOSTNAME=${h}: ${r.stdout}`);
            assert.match(r.stderr, /no pod ordinal/);
        }
    });
});

describe("prod render: MariaDB primary and replica", () => {
    let objects: Manifest[];
    let outputs: Any;
    before(async function () {
        this.timeout(120_000);
        const r = await renderStack("prod");
        objects = r.objects;
        outputs = r.outputs;
    });
    const pod = (namespace: string, app?: string, name?: string): Pod => ({
        namespace,
        labels: app ? { "app.kubernetes.io/name": app, "app.kubernetes.io/instance": app, ...(name ? { [POD_NAME_LABEL]: name } : {}) } : { app: "client" },
    });

    it("2 pods, the client Service on mariadb-0 only, required anti-affinity and a zone spread, PDB maxUnavailable 1", () => {
        const sts = find(objects, "StatefulSet", "db", "mariadb") as Any;
        assert.strictEqual(sts.spec.replicas, 2);
        // Parallel: a dead pod 0 does not stop the controller from replacing or rolling the others.
        assert.strictEqual(sts.spec.podManagementPolicy, "Parallel");
        const spec = sts.spec.template.spec;
        assert.strictEqual(spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey, "kubernetes.io/hostname");
        assert.deepStrictEqual(
            spec.topologySpreadConstraints.map((t: Any) => [t.topologyKey, t.whenUnsatisfiable, t.maxSkew]),
            [["topology.kubernetes.io/zone", "ScheduleAnyway", 1]],
        );
        const svc = find(objects, "Service", "db", "mariadb") as Any;
        assert.strictEqual(svc.spec.selector[POD_NAME_LABEL], "mariadb-0");
        assert.strictEqual((find(objects, "Service", "db", "mariadb-headless") as Any).spec.selector[POD_NAME_LABEL], undefined, "the headless Service names every pod");
        assert.strictEqual((find(objects, "PodDisruptionBudget", "db", "mariadb") as Any).spec.maxUnavailable, 1);
        assert.strictEqual(outputs.mariadbConnection.readHost, mariadbPodHost(1, "db"));
        assert.match(outputs.mariadbConnection.readJdbcUrl, /^jdbc:mariadb:loadbalance:\/\/mariadb-1\.mariadb-headless\.db\.svc\.cluster\.local:3306\/\?sslMode=verify-full$/);
    });

    it("the backups still reach the primary: their option file names the client Service, which selects only mariadb-0", () => {
        const config = parseStackConfig({ ...PRODUCTION, mariadb: { ...MARIADB_IMAGE, replicas: 2 } });
        const cnf = files(planMariaDb(config.mariadb, config)).get("mariadb-backup-credentials/client.cnf")!;
        assert.match(cnf, /^host = mariadb\.db\.svc\.cluster\.local$/m);
        assert.strictEqual((find(objects, "Service", "db", "mariadb") as Any).metadata.name, "mariadb");
    });

    const cases: [string, Pod, Pod, number, boolean][] = [
        ["a MariaDB replica → the primary's 3306 (replication, the clone)", pod("db", "mariadb", "mariadb-1"), pod("db", "mariadb", "mariadb-0"), 3306, true],
        ["the primary → a replica's 3306 (a promoted replica's replicas)", pod("db", "mariadb", "mariadb-0"), pod("db", "mariadb", "mariadb-1"), 3306, true],
        ["a MariaDB pod → another's 9104 (exporter)", pod("db", "mariadb", "mariadb-1"), pod("db", "mariadb", "mariadb-0"), 9104, false],
        ["another pod in db → a replica's 3306", pod("db"), pod("db", "mariadb", "mariadb-1"), 3306, false],
        ["a client namespace → a replica's 3306 (reads)", pod("order-service"), pod("db", "mariadb", "mariadb-1"), 3306, true],
        ["a MariaDB pod → Redis", pod("db", "mariadb", "mariadb-1"), pod("cache", "redis"), 6379, false],
    ];
    for (const [title, from, to, port, expected] of cases) {
        it(`NetworkPolicies: ${title} is ${expected ? "allowed" : "denied"}`, () => {
            assert.strictEqual(connectionAllowed(objects, from, to, port, "TCP"), expected);
        });
    }
});
