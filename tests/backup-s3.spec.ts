// Off-site backups, offline: `backups.s3` read with the hostile-input treatment (each bad value named with its
// key and what is accepted), and what the plans become with it: the backup container first (init), the S3
// step after it, the S3 ConfigMap, the operator's Secret mounted optional, the endpoint's port opened to the
// jobs when egress is restricted. Nothing changes without `backups.s3`. Proven on a real S3 server in
// tests/servers/s3-backup.spec.ts.

import * as assert from "assert";
import { s3Conf, s3EndpointPort, s3ServicePrefix } from "../components/backup/s3";
import { planMariaDb } from "../components/mariadb/plan";
import { planRedis } from "../components/redis/plan";
import { buildNetworkPolicies } from "../components/networkPolicies";
import { parseStackConfig } from "../components/stackConfig";
import { PINNED_IMAGES, problems } from "./helpers/config";

const S3 = { endpoint: "https://s3.example.com", bucket: "acme-backups" };
const prod = (backups: unknown) => ({
    environment: "production",
    storageClass: "longhorn",
    networkPolicies: { allowedNamespaces: ["orders"] },
    mariadb: { image: PINNED_IMAGES.mariadb },
    redis: { image: PINNED_IMAGES.redis },
    backups,
});

describe("backups.s3: settings", () => {
    it("is off by default; set, it takes the documented defaults", () => {
        assert.strictEqual(parseStackConfig({}).backups.s3, undefined);
        const s3 = parseStackConfig(prod({ s3: S3 })).backups.s3!;
        assert.deepStrictEqual(
            { ...s3 },
            { ...S3, prefix: "", region: "us-east-1", pathStyle: false, credentialsSecret: "backup-s3", ca: undefined, image: "curlimages/curl:8.11.1", retentionDays: 30, retentionCount: 7, partMiB: 64 },
        );
    });

    const bad: [string, unknown, RegExp][] = [
        ["no endpoint", { bucket: "b-1" }, /msa-infra:backups\.s3\.endpoint: missing; expected an http\(s\) URL of the S3 API without a path/],
        ["an endpoint with a path", { ...S3, endpoint: "https://s3.example.com/backups" }, /msa-infra:backups\.s3\.endpoint: "https:\/\/s3\.example\.com\/backups" is not valid; expected an http\(s\) URL of the S3 API without a path/],
        ["an endpoint that is no URL", { ...S3, endpoint: "s3.example.com" }, /backups\.s3\.endpoint: "s3\.example\.com" is not valid/],
        ["http in production", { ...S3, endpoint: "http://minio.storage:9000" }, /msa-infra:backups\.s3\.endpoint: "http:\/\/minio\.storage:9000": http is not allowed when environment is production .*use https/],
        ["no bucket", { endpoint: S3.endpoint }, /msa-infra:backups\.s3\.bucket: missing; expected an S3 bucket name/],
        ["a bucket with capitals", { ...S3, bucket: "Backups" }, /msa-infra:backups\.s3\.bucket: "Backups" is not valid; expected an S3 bucket name \(3 to 63 lower-case letters/],
        ["a bucket like an IP address", { ...S3, bucket: "10.0.0.1" }, /backups\.s3\.bucket: "10\.0\.0\.1" is not valid/],
        ["a prefix with a leading slash", { ...S3, prefix: "/prod" }, /msa-infra:backups\.s3\.prefix: "\/prod" is not valid; expected a key prefix of segments/],
        ["a prefix with ..", { ...S3, prefix: "a/../b" }, /backups\.s3\.prefix: "a\/\.\.\/b" is not valid/],
        ["a prefix with a space", { ...S3, prefix: "my backups" }, /backups\.s3\.prefix: "my backups" is not valid/],
        ["a region with a slash", { ...S3, region: "eu/1" }, /msa-infra:backups\.s3\.region: "eu\/1" is not valid; expected a region name/],
        ["pathStyle as a string", { ...S3, pathStyle: "yes" }, /msa-infra:backups\.s3\.pathStyle: "yes" is not valid; expected true or false/],
        ["a Secret name with capitals", { ...S3, credentialsSecret: "S3Keys" }, /msa-infra:backups\.s3\.credentialsSecret: "S3Keys" is not valid; expected a Secret name/],
        ["a CA that is no PEM", { ...S3, ca: "not a certificate" }, /msa-infra:backups\.s3\.ca: "not a certificate" is not valid; expected PEM certificates/],
        ["a floating image in production", { ...S3, image: "curlimages/curl:8" }, /msa-infra:backups\.s3\.image: "curlimages\/curl:8": a floating tag is not allowed when environment is production/],
        ["an image without a tag", { ...S3, image: "curlimages/curl" }, /msa-infra:backups\.s3\.image: "curlimages\/curl" is not valid; expected an image with curl/],
        ["retentionDays 0", { ...S3, retentionDays: 0 }, /msa-infra:backups\.s3\.retentionDays: 0 is not valid; expected an integer from 1 to 3650/],
        ["retentionCount 0 (the newest would go)", { ...S3, retentionCount: 0 }, /msa-infra:backups\.s3\.retentionCount: 0 is not valid; expected an integer from 1 to 1000/],
        ["a part under S3's 5 MiB", { ...S3, partSize: "4Mi" }, /msa-infra:backups\.s3\.partSize: "4Mi" is not valid; expected a size in whole Mi from 5Mi to 5Gi/],
        ["a part of a fraction of a MiB", { ...S3, partSize: "5500Ki" }, /backups\.s3\.partSize: "5500Ki" is not valid/],
        ["an unknown key", { ...S3, secretKey: "x" }, /msa-infra:backups\.s3\.secretKey: unknown key; accepted keys are endpoint, bucket, prefix/],
        ["s3 as a string", "s3://bucket", /msa-infra:backups: "s3:\/\/bucket" is not valid; expected an object with keys s3/],
    ];
    for (const [what, value, expected] of bad) {
        it(`refuses ${what}, naming the key and what is accepted`, () => {
            const raw = typeof value === "string" ? { ...prod(undefined), backups: value } : prod({ s3: value });
            const found = problems(raw);
            assert.ok(found.some((p) => expected.test(p)), `${expected} not in:\n${found.join("\n")}`);
        });
    }

    it("refuses a CA with a plain-http endpoint, and an S3 target with no backups to copy", () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert.ok(problems({ backups: { s3: { ...S3, endpoint: "http://minio:9000", ca: pem } }, mariadb: { backup: { enabled: true } } }).some((p) => /backups\.s3\.ca: is set, but backups\.s3\.endpoint "http:\/\/minio:9000" is not https/.test(p)));
        assert.ok(problems({ backups: { s3: S3 } }).some((p) => /msa-infra:backups\.s3: is set, but no service takes backups to copy; set mariadb\.backup\.enabled or redis\.backup\.enabled/.test(p)));
    });

    it("keys each service's backups under <prefix>/<namespace>/<app>, and writes s3.conf with the validated values only", () => {
        const s3 = parseStackConfig(prod({ s3: { ...S3, prefix: "acme/prod", pathStyle: true, partSize: "16Mi" } })).backups.s3!;
        assert.strictEqual(s3ServicePrefix(s3, "db", "mariadb"), "acme/prod/db/mariadb");
        assert.strictEqual(s3ServicePrefix({ prefix: "" }, "cache", "redis"), "cache/redis");
        const conf = s3Conf(s3, { namespace: "db", app: "mariadb" });
        assert.match(conf, /^S3_PREFIX='acme\/prod\/db\/mariadb'$/m);
        assert.match(conf, /^S3_PART_MIB='16'$/m);
        assert.match(conf, /^S3_CA=''$/m);
        assert.deepStrictEqual([s3EndpointPort({ endpoint: "https://s3.example.com" }), s3EndpointPort({ endpoint: "http://minio:9000" }), s3EndpointPort({ endpoint: "http://minio" })], [443, 9000, 80]);
    });
});

describe("backups.s3: the plans", () => {
    const config = parseStackConfig({ ...prod({ s3: { ...S3, endpoint: "https://s3.example.com:8443" } }), networkPolicies: { egress: true, allowedNamespaces: ["orders"] } });
    const mariadb = planMariaDb(config.mariadb, config);
    const redis = planRedis(config.redis, config);

    it("runs each backup first (init container), then the S3 step in the curl image on the same claim", () => {
        for (const [plan, jobs] of [
            [mariadb, ["mariadb-backup", "mariadb-binlog-archive"]],
            [redis, ["redis-backup"]],
        ] as const) {
            assert.deepStrictEqual(plan.cronJobs!.map((c) => c.name), jobs);
            for (const c of plan.cronJobs!) {
                const [backup] = c.job.initContainers!;
                const [upload] = c.job.containers;
                assert.strictEqual(upload.image, "curlimages/curl:8.11.1");
                assert.deepStrictEqual(upload.command!.slice(0, 3), ["sh", "/opt/backup-s3/s3.sh", "backup"]);
                const claim = backup.mounts.find((m) => m.source.kind === "pvc")!;
                assert.deepStrictEqual(upload.mounts.find((m) => m.volume === claim.volume), { ...claim, readOnly: true }, `${c.name}: the uploader reads the staging claim`);
                assert.deepStrictEqual(upload.mounts.find((m) => m.volume === "s3-credentials")!.source, { kind: "externalSecret", secret: "backup-s3" });
                assert.deepStrictEqual(upload.env, []);
            }
        }
        const full = mariadb.cronJobs!.find((c) => c.name === "mariadb-backup")!.job.containers[0].command!;
        assert.deepStrictEqual(full.slice(3), ["full", "/backup/full", "mariadb-full-*.sql.gz", "--companion", ".sha256", "--prune", "--older-than-oldest", "binlogs"]);
        const binlogs = mariadb.cronJobs!.find((c) => c.name === "mariadb-binlog-archive")!.job.containers[0].command!;
        assert.deepStrictEqual(binlogs.slice(3), ["binlogs", "/binlogs", "mariadb-bin.[0-9]*"], "binary logs are pruned by the full backup's step, against the dumps it keeps");
        assert.deepStrictEqual(redis.cronJobs![0].job.containers[0].command!.slice(3), ["rdb", "/backup", "redis-*.rdb", "--companion", ".sha256", "--prune"]);
    });

    it("adds the S3 ConfigMap and opens the endpoint's port to the jobs' pods only when egress is restricted", () => {
        assert.ok(mariadb.objects.some((o) => o.name === "mariadb-backup-s3" && o.kind === "ConfigMap"));
        assert.ok(redis.objects.some((o) => o.name === "redis-backup-s3" && o.kind === "ConfigMap"));
        assert.deepStrictEqual(mariadb.jobEgressPorts, [8443]);
        const policies = buildNetworkPolicies(
            { namespace: "db", podSelector: { app: "mariadb" }, clientPorts: [3306], peerPorts: [], jobPodSelector: { run: "x" }, jobEgressPorts: [8443] },
            config.networkPolicies,
            {},
        );
        const egress = policies.find((p) => p.metadata.name === "allow-jobs-egress")!.spec.egress as unknown[];
        assert.deepStrictEqual(egress[1], { ports: [{ protocol: "TCP", port: 8443 }] });
    });

    it("changes nothing without backups.s3", () => {
        const plain = parseStackConfig({ ...prod(undefined), networkPolicies: { egress: true, allowedNamespaces: ["orders"] } });
        const m = planMariaDb(plain.mariadb, plain);
        assert.ok(m.cronJobs!.every((c) => c.job.initContainers === undefined && c.job.containers.length === 1 && c.job.containers[0].name !== "s3-upload"));
        assert.strictEqual(m.jobEgressPorts, undefined);
        assert.ok(!m.objects.some((o) => o.name.endsWith("-backup-s3")));
    });
});
