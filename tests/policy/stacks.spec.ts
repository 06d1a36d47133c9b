// The policy pack on what the program really renders (scripts/lib/mockRuntime.ts renderStack): our own
// stacks pass under their own policy configs, and insecure variants fail for the right reason.

import * as assert from "assert";
import * as path from "path";
import { evaluate, formatReport, loadPolicyConfig, PolicyPackConfig, Violation } from "../../policy/runner";
import { decodeConfigValue } from "../../components/stackConfig";
import { readStackFile, renderStack } from "../../scripts/lib/mockRuntime";
import { TEST_JMX_AGENT } from "../helpers/ops";

const ROOT = path.resolve(__dirname, "..", "..");

/** Rendered objects are untyped manifests; the tests poke into them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function policyConfig(stack: "dev" | "prod"): PolicyPackConfig {
    return loadPolicyConfig(path.join(ROOT, `Pulumi.${stack}.policy.json`));
}

function find(objs: Json[], kind: string, namespace: string, name: string): Json {
    const o = objs.find((x) => x.kind === kind && x.metadata.namespace === namespace && x.metadata.name === name);
    assert.ok(o, `no ${kind} ${namespace}/${name} in the render`);
    return o;
}

function summary(vs: Violation[]): string[] {
    return Array.from(new Set(vs.map((v) => `${v.enforcementLevel} ${v.policyName}`))).sort();
}

describe("policy pack on the rendered stacks", function () {
    this.timeout(120000);
    let dev: Json[];
    let prod: Json[];

    before(async () => {
        dev = (await renderStack("dev")).objects;
        prod = (await renderStack("prod")).objects;
    });

    it("prod with kafka.jmxAgent passes; its metrics-agent init container is held to the same rules (a privileged one fails)", async () => {
        const config: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(readStackFile(ROOT, "prod"))) config[k.replace(/^msa-infra:/, "")] = decodeConfigValue(v);
        config.kafka = { ...(config.kafka as object), jmxAgent: TEST_JMX_AGENT };
        const r = await renderStack("prod", { config });
        assert.deepStrictEqual(r.warnings, [], "with the agent image set, no warning");
        const vs = await evaluate(r.objects, policyConfig("prod"));
        assert.deepStrictEqual(vs, [], formatReport(vs));
        const objs: Json[] = structuredClone(r.objects);
        const init = find(objs, "StatefulSet", "messaging", "kafka").spec.template.spec.initContainers;
        assert.deepStrictEqual(init.map((c: Json) => c.name), ["jmx-agent"]);
        init[0].securityContext.privileged = true;
        const bad = await evaluate(objs, policyConfig("prod"));
        assert.deepStrictEqual(summary(bad), ["mandatory container-security-context"], formatReport(bad));
        assert.match(bad[0].message, /jmx-agent/);
    });

    it("prod as committed warns that Kafka runs without metrics, naming kafka.jmxAgent; dev (no exporters) does not", async () => {
        const prodWarnings = (await renderStack("prod")).warnings;
        assert.strictEqual(prodWarnings.length, 1, prodWarnings.join("\n"));
        assert.match(prodWarnings[0], /msa-infra:kafka\.jmxAgent is not set: the Kafka brokers run without the JMX exporter agent/);
        assert.deepStrictEqual((await renderStack("dev")).warnings, []);
    });

    it("dev passes under Pulumi.dev.policy.json without a single finding", async () => {
        const vs = await evaluate(dev, policyConfig("dev"));
        assert.deepStrictEqual(vs, [], formatReport(vs));
    });

    it("prod passes under Pulumi.prod.policy.json and under the all-mandatory defaults", async () => {
        for (const config of [policyConfig("prod"), {}]) {
            const vs = await evaluate(prod, config);
            assert.deepStrictEqual(vs, [], formatReport(vs));
        }
    });

    it("prod and dev with their Secrets filled (as the CLI hands them to the pack) pass too: every start-up is followed and every ACL file read", async () => {
        for (const stackName of ["prod", "dev"] as const) {
            const objs = (await renderStack(stackName, { withSecrets: true })).objects;
            const vs = await evaluate(objs, policyConfig(stackName));
            assert.deepStrictEqual(vs, [], formatReport(vs));
        }
        // The ACL file is read, not assumed: a default user with nopass in it is caught.
        const objs: Json[] = (await renderStack("prod", { withSecrets: true })).objects;
        const acl = find(objs, "Secret", "cache", "redis-acl");
        acl.stringData["users.acl"] = acl.stringData["users.acl"].replace(/^user default .*$/m, "user default on nopass ~* &* +@all");
        const bad = (await evaluate(objs, policyConfig("prod"))).filter((v) => v.policyName === "redis-requires-auth");
        assert.ok(bad.some((v) => v.name === "redis" && /lets the default user in with nopass/.test(v.message)), formatReport(bad));
    });

    it("dev fails prod's policy config: local-path volumes and no default-deny NetworkPolicies", async () => {
        const vs = await evaluate(dev, policyConfig("prod"));
        assert.deepStrictEqual(summary(vs), ["mandatory namespace-default-deny-ingress", "mandatory pvc-storage-class"], formatReport(vs));
        assert.deepStrictEqual(
            vs.filter((v) => v.policyName === "namespace-default-deny-ingress").map((v) => `${v.kind} ${v.namespace}/${v.name}`),
            ["Namespace cache/-", "Namespace db/-", "Namespace messaging/-"],
        );
    });

    it("a PLAINTEXT Kafka client listener is accepted by dev's config and rejected by prod's", async () => {
        const objs = (await renderStack("sandbox", { config: { kafka: { clientAuth: "none" } } })).objects;
        const kafka = (vs: Violation[]) => vs.filter((v) => v.policyName === "kafka-no-plaintext-listeners");
        assert.deepStrictEqual(kafka(await evaluate(objs, policyConfig("dev"))), []);
        const prodFindings = kafka(await evaluate(objs, policyConfig("prod")));
        assert.strictEqual(prodFindings.length, 1, formatReport(prodFindings));
        assert.strictEqual(prodFindings[0].enforcementLevel, "mandatory");
        assert.match(prodFindings[0].message, /listener CLIENT uses the PLAINTEXT security protocol/);
    });

    it("an insecure variant of prod fails: Redis without an ACL file, a NodePort MariaDB Service, a privileged Kafka", async () => {
        const objs: Json[] = structuredClone(prod);
        const conf = find(objs, "ConfigMap", "cache", "redis-config");
        conf.data["redis.conf"] = conf.data["redis.conf"].replace(/^aclfile .*$/m, "");
        find(objs, "Service", "db", "mariadb").spec.type = "NodePort";
        find(objs, "StatefulSet", "messaging", "kafka").spec.template.spec.containers[0].securityContext.privileged = true;
        const vs = await evaluate(objs, policyConfig("prod"));
        assert.deepStrictEqual(
            vs.map((v) => `${v.enforcementLevel} ${v.policyName} ${v.kind} ${v.namespace}/${v.name}`).sort(),
            [
                "mandatory container-security-context StatefulSet messaging/kafka",
                "mandatory data-service-exposure Service db/mariadb",
                "mandatory redis-requires-auth StatefulSet cache/redis",
            ],
            formatReport(vs),
        );
    });
});
