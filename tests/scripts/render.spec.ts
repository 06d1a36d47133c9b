// The render command's contract, exercised as a user runs it (a child process on the real stack files).

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../../scripts/lib/mockRuntime";

function render(args: string[]) {
    const r = spawnSync(process.execPath, ["-r", "./scripts/lib/register.js", "scripts/render.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function listFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe("npm run render", function () {
    this.timeout(120000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "msa-render-"));
    const invented = `test-${process.pid}`;
    const inventedFile = path.join(ROOT, `Pulumi.${invented}.yaml`);
    const brokenFile = path.join(ROOT, `Pulumi.${invented}-broken.yaml`);

    before(() => {
        fs.writeFileSync(
            inventedFile,
            YAML.stringify({
                config: {
                    "msa-infra:storageClass": "standard",
                    "msa-infra:kafka": { replicas: 5, clientAuth: "none" },
                    "msa-infra:redis": { users: [{ name: "carts", keyPattern: "cart:*" }] },
                },
            }),
        );
        fs.writeFileSync(brokenFile, YAML.stringify({ config: { "msa-infra:kafka": { replicas: 2 }, "msa-infra:storageClas": "x" } }));
    });
    after(() => {
        for (const f of [inventedFile, brokenFile]) {
            fs.rmSync(f, { force: true });
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("renders dev into --out with a summary table, Secret values redacted", () => {
        const out = path.join(tmp, "dev");
        const r = render(["--stack", "dev", "--out", out]);
        assert.strictEqual(r.code, 0, r.stderr + r.stdout);
        assert.match(r.stdout, /^KIND\s+NAMESPACE\s+NAME/m);
        assert.match(r.stdout, /^StatefulSet\s+db\s+mariadb\s/m);
        assert.match(r.stdout, /^StatefulSet\s+messaging\s+kafka\s/m);
        const files = listFiles(out).filter((f) => f.endsWith(".yaml"));
        assert.ok(files.length >= 25, `${files.length} files`);
        const secret = YAML.parse(fs.readFileSync(path.join(out, "db", "secret-mariadb-credentials.yaml"), "utf8"));
        assert.deepStrictEqual(secret.stringData, { "root-password": "<redacted>" });
        for (const f of files) {
            assert.strictEqual(fs.statSync(f).mode & 0o077, 0o044, `${f} should be world-readable (no secrets in it)`);
        }
        // The stack outputs a service team reads: every name printed, secret ones marked and redacted.
        const outputs = JSON.parse(fs.readFileSync(path.join(out, "stack-outputs.json"), "utf8"));
        assert.strictEqual(outputs.mariadbRootPassword, "<redacted>");
        assert.strictEqual(outputs.mariadbConnection.host, "mariadb.db.svc.cluster.local");
        assert.strictEqual(fs.statSync(path.join(out, "stack-outputs.json")).mode & 0o077, 0o044);
        const listed = /^Stack outputs .*\n {2}(.*)$/m.exec(r.stdout)?.[1].split(", ");
        assert.deepStrictEqual(listed, Object.keys(outputs).sort().map((n) => (outputs[n] === "<redacted>" || JSON.stringify(outputs[n]).includes("<redacted>") ? `${n}*` : n)));
        assert.ok(listed?.includes("mariadbRootPassword*") && listed.includes("kafkaConnection"), r.stdout);
        assert.match(r.stdout, /secret values are redacted; --with-secrets writes them/);
    });

    it("--with-secrets fills generated values and writes those files with mode 0600", () => {
        const out = path.join(tmp, "prod-secrets");
        const r = render(["--stack", "prod", "--out", out, "--with-secrets"]);
        assert.ok(r.code === 0 || r.code === 1, r.stderr);
        const file = path.join(out, "db", "secret-mariadb-credentials.yaml");
        const secret = YAML.parse(fs.readFileSync(file, "utf8"));
        assert.match(secret.stringData["root-password"], /^[A-Za-z0-9]{32}$/);
        assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
        const configMap = path.join(out, "db", "configmap-mariadb-config.yaml");
        assert.strictEqual(fs.statSync(configMap).mode & 0o777, 0o644);
        // Two renders generate different values: nothing is hard-coded.
        const again = path.join(tmp, "prod-secrets-2");
        render(["--stack", "prod", "--out", again, "--with-secrets"]);
        const second = YAML.parse(fs.readFileSync(path.join(again, "db", "secret-mariadb-credentials.yaml"), "utf8"));
        assert.notStrictEqual(second.stringData["root-password"], secret.stringData["root-password"]);
        // The outputs carry the same generated values, and their file is the owner's only.
        const outputs = path.join(out, "stack-outputs.json");
        assert.strictEqual(JSON.parse(fs.readFileSync(outputs, "utf8")).mariadbRootPassword, secret.stringData["root-password"]);
        assert.strictEqual(fs.statSync(outputs).mode & 0o777, 0o600);
    });

    it("renders a stack file holding encrypted values with placeholders, saying so once, and refuses a misspelled project prefix", () => {
        const secure = path.join(ROOT, `Pulumi.${invented}-secure.yaml`);
        try {
            const config = { "msa-infra:storageClass": "standard", "kubernetes:kubeconfig": { secure: "AAABAGVuY3J5cHRlZA==" } };
            fs.writeFileSync(secure, YAML.stringify({ config }));
            const ok = render(["--stack", `${invented}-secure`, "--out", path.join(tmp, "secure")]);
            assert.ok(ok.code === 0 || ok.code === 1, ok.stderr);
            assert.strictEqual(ok.stderr.match(/encrypted \(secure\) value/g)?.length, 1, ok.stderr);
            assert.match(ok.stderr, /1 encrypted \(secure\) value\(s\) cannot be decrypted offline and render as placeholders: kubernetes:kubeconfig/);
            fs.writeFileSync(secure, YAML.stringify({ config: { ...config, "msainfra:storageClass": "fast" } }));
            const typo = render(["--stack", `${invented}-secure`, "--out", path.join(tmp, "typo")]);
            assert.strictEqual(typo.code, 2);
            assert.match(typo.stderr, /config key "msainfra:storageClass" is under namespace "msainfra", not the project's "msa-infra": .* Write it as msa-infra:storageClass/);
            assert.ok(!fs.existsSync(path.join(tmp, "typo")), "nothing is written");
        } finally {
            fs.rmSync(secure, { force: true });
        }
    });

    it("--seed renders reproducibly (same seed, same bytes; another seed, other ids) and lists every resource's URN", () => {
        const read = (dir: string) => Object.fromEntries(listFiles(dir).map((f) => [path.relative(dir, f), fs.readFileSync(f, "utf8")]));
        const [a, b, c] = ["seed-a", "seed-b", "seed-c"].map((d) => path.join(tmp, d));
        for (const [out, seed] of [[a, "one"], [b, "one"], [c, "two"]]) {
            const r = render(["--stack", "dev", "--out", out, "--seed", seed]);
            assert.strictEqual(r.code, 0, r.stderr);
        }
        assert.deepStrictEqual(read(a), read(b));
        const clusterId = (dir: string) => YAML.parse(read(dir)["messaging/configmap-kafka-config.yaml"]).data["cluster-id"];
        assert.notStrictEqual(clusterId(a), clusterId(c));
        const resources = read(a)["pulumi-resources.txt"].trim().split("\n");
        assert.ok(resources.includes("urn:pulumi:dev::msa-infra::msa-infra:index:MariaDb$kubernetes:apps/v1:StatefulSet::mariadb-statefulset deleteBeforeReplace replaceOnChanges=spec.volumeClaimTemplates,spec.selector,spec.serviceName,spec.podManagementPolicy"), resources.join("\n"));
        assert.match(read(a)[".msa-infra-render"], /^seed: one$/m);
    });

    it("refuses --seed with --with-secrets: seeded passwords are predictable", () => {
        const r = render(["--stack", "dev", "--out", path.join(tmp, "seeded-secrets"), "--seed", "x", "--with-secrets"]);
        assert.strictEqual(r.code, 2);
        assert.match(r.stderr, /--seed makes every generated password predictable/);
        assert.ok(!fs.existsSync(path.join(tmp, "seeded-secrets")));
    });

    it("renders a stack file it has never seen (5 Kafka voters, PLAINTEXT in development)", () => {
        const out = path.join(tmp, "invented");
        const r = render(["--stack", invented, "--out", out]);
        assert.ok(r.code === 0 || r.code === 1, r.stderr);
        const cm = YAML.parse(fs.readFileSync(path.join(out, "messaging", "configmap-kafka-config.yaml"), "utf8"));
        assert.match(cm.data["server.properties"], /4@kafka-4\.kafka-headless/);
        const sts = YAML.parse(fs.readFileSync(path.join(out, "messaging", "statefulset-kafka.yaml"), "utf8"));
        assert.strictEqual(sts.spec.replicas, 5);
        assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.storageClassName, "standard");
    });

    it("replaces its own previous output but refuses to clear a foreign directory", () => {
        const foreign = path.join(tmp, "foreign");
        fs.mkdirSync(foreign);
        fs.writeFileSync(path.join(foreign, "keep.txt"), "mine");
        const r = render(["--stack", "dev", "--out", foreign]);
        assert.strictEqual(r.code, 2);
        assert.match(r.stderr, /is not empty and was not written by render/);
        assert.strictEqual(fs.readFileSync(path.join(foreign, "keep.txt"), "utf8"), "mine");
    });

    it("fails clearly on a missing stack file, naming it and the available stacks", () => {
        const r = render(["--stack", "nosuchstack", "--out", path.join(tmp, "none")]);
        assert.strictEqual(r.code, 2);
        assert.match(r.stderr, /Pulumi\.nosuchstack\.yaml not found; available stacks: .*dev.*prod/);
        assert.ok(!fs.existsSync(path.join(tmp, "none")), "nothing is written");
    });

    it("fails clearly on invalid config, naming every key, and writes nothing", () => {
        const r = render(["--stack", `${invented}-broken`, "--out", path.join(tmp, "broken")]);
        assert.strictEqual(r.code, 2);
        assert.match(r.stderr, /msa-infra:kafka\.replicas: 2 is not valid; expected 1 or an odd number/);
        assert.match(r.stderr, /msa-infra:storageClas: unknown key/);
        assert.doesNotMatch(r.stderr, /at parseStackConfig/, "no stack trace");
        assert.ok(!fs.existsSync(path.join(tmp, "broken")));
    });

    it("rejects a missing --stack and unknown flags with usage", () => {
        const none = render([]);
        assert.strictEqual(none.code, 2);
        assert.match(none.stderr, /--stack is required\nusage: npm run render -- --stack <name>/);
        const bad = render(["--stack", "dev", "--colour"]);
        assert.strictEqual(bad.code, 2);
        assert.match(bad.stderr, /Unknown option '--colour'/);
    });
});
