// The pack as a whole: metadata, the compliant stack, levels and knobs, robustness (moved from
// tests/policy.spec.ts unchanged), and the two fixture corpora: tests/fixtures/policy/violating/classes
// (at least 64 insecure manifests, one broken rule each, every class of the hardening issue) and
// tests/fixtures/policy/compliant-unusual (unusual manifests that are compliant: no finding at all).

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { formatReport, loadManifests, loadPolicyConfig } from "../../policy/runner";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies } from "../../policy/policies";
import { container, corpus, expectClean, FIXTURES, fixture, isUnverifiable, Json, obj, ofPolicy, overlay, ROOT, run, stack, UNKNOWN_STRING, withChange } from "./helpers";

function stripComments(ts: string): string {
    return ts.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

describe("policy pack", () => {
    describe("metadata", () => {
        it("has the pack name and level that policy/index.ts passes to new PolicyPack", () => {
            const index = fs.readFileSync(path.join(ROOT, "policy", "index.ts"), "utf8");
            assert.ok(index.includes(`new PolicyPack("${PACK_NAME}", { policies, enforcementLevel: "${PACK_ENFORCEMENT_LEVEL}" })`), index);
            assert.strictEqual(PACK_NAME, "msa-infra-security");
            assert.strictEqual(PACK_ENFORCEMENT_LEVEL, "mandatory");
        });

        it("keeps policies in modules that never start the policy server", () => {
            const dir = path.join(ROOT, "policy", "policies");
            for (const f of fs.readdirSync(dir)) {
                const text = stripComments(fs.readFileSync(path.join(dir, f), "utf8"));
                assert.ok(!/new\s+PolicyPack\b/.test(text) && !/import\s*\{[^}]*\bPolicyPack\b[^}]*\}\s*from/.test(text), `${f} must not construct a PolicyPack`);
            }
            const offline = stripComments(fs.readFileSync(path.join(ROOT, "policy", "runner.ts"), "utf8"));
            assert.ok(!/new\s+PolicyPack\b/.test(offline));
        });

        it("has a policy/package.json with a version and the root's exact SDK versions", () => {
            const pack = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "package.json"), "utf8"));
            const root = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
            assert.strictEqual(pack.name, "msa-infra-policy");
            assert.match(pack.version, /^\d+\.\d+\.\d+$/);
            for (const dep of ["@pulumi/policy", "@pulumi/pulumi"]) {
                assert.strictEqual(pack.dependencies[dep], root.dependencies[dep], dep);
            }
            assert.match(fs.readFileSync(path.join(ROOT, "policy", "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
        });

        it("gives every policy a unique kebab-case name, a one-sentence description and a level", () => {
            const names = policies.map((p) => p.name);
            assert.strictEqual(new Set(names).size, names.length);
            assert.strictEqual(names.length, 14);
            for (const p of policies) {
                assert.match(p.name, /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/, p.name);
                assert.notStrictEqual(p.name, "all");
                assert.match(p.description, /^[A-Z][^\n]{20,200}\.$/, `${p.name}: ${p.description}`);
                assert.strictEqual(p.enforcementLevel, "mandatory", p.name);
            }
        });

        it("declares knobs with a type, a default and a description, never enforcementLevel", () => {
            for (const p of policies) {
                const props = p.configSchema?.properties ?? {};
                assert.ok(!("enforcementLevel" in props), p.name);
                assert.ok(!(p.configSchema?.required ?? []).includes("enforcementLevel"), p.name);
                for (const [k, s] of Object.entries(props)) {
                    assert.ok(s.type && s.default !== undefined && s.description, `${p.name}.${k}`);
                }
            }
        });

        it("splits resource and stack policies as documented", () => {
            const stackPolicies = policies.filter((p) => "validateStack" in p).map((p) => p.name);
            assert.deepStrictEqual(stackPolicies.sort(), [
                "kafka-no-plaintext-listeners",
                "namespace-default-deny-ingress",
                "network-policy-data-ports",
                "no-plaintext-credentials",
                "redis-requires-auth",
                "statefulset-service-account",
            ]);
        });

        it("fires every policy on the violating fixtures, each message with a remediation hint and a single line", async () => {
            const vs = await run(loadManifests([path.join(FIXTURES, "violating")]));
            assert.deepStrictEqual(Array.from(new Set(vs.map((v) => v.policyName))).sort(), policies.map((p) => p.name).sort());
            for (const v of vs) {
                assert.match(v.message, /\. Fix: \S.*\.$/, `${v.policyName}: ${v.message}`);
                assert.ok(!v.message.includes("\n"));
            }
        });

        it("keeps the shared reading module (policy/reading) free of the policy server too", () => {
            const dir = path.join(ROOT, "policy", "reading");
            for (const f of fs.readdirSync(dir)) {
                const text = stripComments(fs.readFileSync(path.join(dir, f), "utf8"));
                assert.ok(!/new\s+PolicyPack\b/.test(text) && !/import\s*\{[^}]*\bPolicyPack\b[^}]*\}\s*from/.test(text), `${f} must not construct a PolicyPack`);
            }
        });

        it("keeps the offline runner's modules (policy/offline) free of the policy server too", () => {
            const dir = path.join(ROOT, "policy", "offline");
            for (const f of fs.readdirSync(dir)) {
                const text = stripComments(fs.readFileSync(path.join(dir, f), "utf8"));
                assert.ok(!/new\s+PolicyPack\b/.test(text) && !/import\s*\{[^}]*\bPolicyPack\b[^}]*\}\s*from/.test(text), `${f} must not construct a PolicyPack`);
            }
        });

        it("has one spec per policy under tests/policy", () => {
            for (const p of policies) {
                assert.ok(fs.existsSync(path.join(ROOT, "tests", "policy", `${p.name}.spec.ts`)), p.name);
            }
        });
    });

    describe("the compliant fixture stack", () => {
        it("passes every policy at the defaults", async () => {
            await expectClean(stack());
        });

        it("passes under Pulumi.prod.policy.json and Pulumi.dev.policy.json", async () => {
            await expectClean(stack(), loadPolicyConfig(path.join(ROOT, "Pulumi.prod.policy.json")));
            await expectClean(stack(), loadPolicyConfig(path.join(ROOT, "Pulumi.dev.policy.json")));
        });
    });

    describe("configuration and levels", () => {
        it("uses config[policy] over all over the policy's own level; remediate counts as mandatory", async () => {
            const objs = fixture("bitnami-redis.yaml");
            const vs = await run(objs, { all: "advisory", "container-images": { enforcementLevel: "mandatory" }, "container-resources": "remediate", "pvc-storage-class": "disabled" });
            const levels = new Map(vs.map((v) => [v.policyName, v.enforcementLevel]));
            assert.strictEqual(levels.get("container-images"), "mandatory");
            assert.strictEqual(levels.get("container-resources"), "mandatory");
            assert.strictEqual(levels.get("data-service-exposure"), "advisory");
            assert.ok(!levels.has("pvc-storage-class"));
        });

        it("reads Pulumi.dev.policy.json and Pulumi.prod.policy.json as documented", () => {
            const dev = loadPolicyConfig(path.join(ROOT, "Pulumi.dev.policy.json"));
            const prod = loadPolicyConfig(path.join(ROOT, "Pulumi.prod.policy.json"));
            assert.strictEqual(dev.all, "advisory");
            assert.strictEqual(prod.all, "mandatory");
            assert.deepStrictEqual(prod["pvc-storage-class"], { allowedStorageClasses: ["longhorn"], forbiddenStorageClasses: ["local-path"], allowDefaultStorageClass: false });
            assert.strictEqual((prod["kafka-no-plaintext-listeners"] as Json).allowPlaintext, false);
            assert.strictEqual((dev["kafka-no-plaintext-listeners"] as Json).allowPlaintext, true);
            assert.strictEqual(dev["namespace-default-deny-ingress"], "disabled");
        });

        it("prod forbids local-path and PLAINTEXT where dev only advises", async () => {
            const objs = stack();
            obj(objs, "StatefulSet", "kafka").spec.volumeClaimTemplates[0].spec.storageClassName = "local-path";
            const conf = obj(objs, "ConfigMap", "kafka-config");
            conf.data["server.properties"] = conf.data["server.properties"].replace("CLIENT:SASL_PLAINTEXT", "CLIENT:PLAINTEXT");
            const prod = await run(objs, loadPolicyConfig(path.join(ROOT, "Pulumi.prod.policy.json")));
            assert.deepStrictEqual(prod.map((v) => `${v.enforcementLevel} ${v.policyName}`).sort(), ["mandatory kafka-no-plaintext-listeners", "mandatory pvc-storage-class"]);
            await expectClean(objs, loadPolicyConfig(path.join(ROOT, "Pulumi.dev.policy.json")));
        });
    });

    describe("robustness", () => {
        it("does not crash on missing, null or wrongly typed fields", async () => {
            const junk: Json[] = [
                { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "a", namespace: "x" }, spec: null },
                { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "b" }, spec: { template: { spec: { containers: "oops", volumes: [null, 3, {}] } }, volumeClaimTemplates: [null, { spec: 5 }] } },
                {
                    apiVersion: "apps/v1",
                    kind: "Deployment",
                    metadata: { name: "c" },
                    spec: { template: { spec: { securityContext: "x", containers: [null, 3, {}, { name: "d", env: {}, securityContext: [], args: [1, null, {}], resources: "big", ports: [{ hostPort: null }] }] } } },
                },
                { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "e" }, spec: { jobTemplate: 5 } },
                { apiVersion: "v1", kind: "Pod", metadata: { name: "f" } },
                { apiVersion: "v1", kind: "Service", metadata: { name: "g" }, spec: { ports: null, externalIPs: "1.2.3.4" } },
                { apiVersion: "v1", kind: "Namespace", metadata: { name: "h", labels: null } },
                { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "i", namespace: "x" }, data: null },
                { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "j" } },
                { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "k" }, spec: { ingress: [null, { from: "x", ports: [null, { port: {} }] }] } },
                { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "l" }, spec: { containers: [{ image: "x" }] } },
            ];
            const vs = await run(junk);
            assert.ok(vs.every((v) => v.message.includes("Fix:")));
        });

        it("ignores non-Kubernetes resources and same-named kinds of other API groups", async () => {
            const nonK8s = { type: "aws:s3/bucket:Bucket", props: { spec: { template: { spec: { containers: [{ image: "nginx" }] } } }, kind: "Service" }, urn: "urn:x", name: "b" };
            const knative = { type: "kubernetes:serving.knative.dev/v1:Service", props: { spec: { type: "LoadBalancer", ports: [{ port: 3306 }] } }, urn: "urn:y", name: "k" };
            const reports: string[] = [];
            for (const p of policies) {
                if ("validateStack" in p) {
                    const resources = [nonK8s, knative].map((r) => ({ ...r, opts: {}, dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined }));
                    await (p as StackValidationPolicy).validateStack({ resources: resources as unknown as PolicyResource[], getConfig: () => ({}) } as unknown as StackValidationArgs, (m) => reports.push(m));
                } else {
                    const validations = ([] as unknown[]).concat((p as ResourceValidationPolicy).validateResource ?? []) as Array<(a: ResourceValidationArgs, r: (m: string) => void) => void>;
                    for (const r of [nonK8s, knative]) {
                        for (const v of validations) {
                            await v({ ...r, getConfig: () => ({}) } as unknown as ResourceValidationArgs, (m) => reports.push(m));
                        }
                    }
                }
            }
            assert.deepStrictEqual(reports, []);
        });

        it("turns an unknown preview value into advisories, like the CLI", async () => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { unknownStringValue } = require("@pulumi/policy/proxy") as { unknownStringValue: string };
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").image = unknownStringValue;
            const vs = await run(objs);
            // The image is read by container-images and by the start-up reading the stack policies share
            // (credentials, exposure, Redis, Kafka); each of them gives up with an advisory, nothing crashes.
            assert.deepStrictEqual(
                vs.map((v) => [v.enforcementLevel, v.policyName, v.name]),
                [
                    ["advisory", "container-images", "mariadb"],
                    ["advisory", "no-plaintext-credentials", "-"],
                    ["advisory", "network-policy-data-ports", "-"],
                    ["advisory", "redis-requires-auth", "-"],
                    ["advisory", "kafka-no-plaintext-listeners", "-"],
                ],
                formatReport(vs),
            );
            for (const v of vs) {
                assert.match(v.message, /^can't run policy '[a-z-]+' from policy pack 'msa-infra-security' during preview: string value at \.spec\.template\.spec\.containers\.0\.image/);
            }
        });

        it("treats a marker string read from a manifest file as a plain value, not as an unknown", async () => {
            const file = path.join(FIXTURES, "compliant-unusual", "marker-named-container-compliant.yaml");
            const objs = withChange({ add: loadManifests([file]) as Json[] }, stack());
            assert.ok(JSON.stringify(objs).includes(UNKNOWN_STRING));
            await expectClean(objs);
            const bad = withChange({ add: loadManifests([path.join(FIXTURES, "violating", "classes", "marker-named-container-privileged.yaml")]) as Json[] }, stack());
            const vs = await run(bad);
            assert.deepStrictEqual(
                vs.map((v) => `${v.enforcementLevel} ${v.policyName} ${v.kind} ${v.namespace}/${v.name}`),
                ["mandatory container-security-context Deployment db/marker"],
                formatReport(vs),
            );
        });

        it("lets an unknown value skip only the checks that need it: the rest of the stack is still checked", async () => {
            const objs = stack();
            // A real preview unknown (handed to evaluate() programmatically) in one workload...
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").image = UNKNOWN_STRING;
            // ...and a Redis without authentication in another.
            delete container(obj(objs, "StatefulSet", "redis")).command;
            const vs = ofPolicy(await run(objs), "redis-requires-auth");
            assert.deepStrictEqual(
                vs.map((v) => `${v.enforcementLevel} ${v.kind} ${v.namespace}/${v.name}`),
                ["mandatory StatefulSet cache/redis", "advisory Stack /-"],
                formatReport(vs),
            );
        });
    });

    describe("the class corpus (tests/fixtures/policy/violating/classes)", () => {
        const cases = corpus("violating/classes");

        it("has at least 64 manifests, each naming a known policy, its class and its trick", () => {
            assert.ok(cases.length >= 64, `${cases.length} manifests`);
            const names = new Set(policies.map((p) => p.name));
            for (const c of cases) {
                assert.ok(c.policy && names.has(c.policy), `${c.file}: # policy: ${c.policy}`);
                assert.ok(c.cls !== "" && c.trick !== "", `${c.file}: # class and # trick`);
            }
        });

        it("covers every class of the hardening issue and every policy", () => {
            const classes = new Set(cases.map((c) => c.cls));
            const required = [
                // the hardening issue's classes
                "envFrom / ConfigMap data",
                "JVM options / URLs / shell",
                "YAML 1.1",
                "YAML merge keys",
                "YAML duplicate keys",
                "CIDRs",
                "selectors",
                "sidecars",
                "server config",
                "registry mirrors",
                "token mounts",
                "Service ports by name",
                "undeclared namespaces",
                "unknown marker",
                "pod-bearing kinds",
                // issue 24: start-ups and settings the reading now follows, or reports as unverifiable
                "shell functions and positional parameters",
                "bash arrays",
                "eval",
                "exec chains",
                "sh -c with variables",
                "shell quoting",
                "include directives",
                "subPath mounts",
                "config from a volume an init container writes",
                "config the start-up rewrites",
                "runtime reconfiguration",
                "Sentinel",
                "a start-up the pack cannot follow",
                "config the pack cannot see",
                "a value the pack cannot expand",
                "env-var expansion",
                "downward API",
                "a file type from its key name",
                "name-based guesses",
                "exposure",
                // the stack's own start scripts (Kafka's ready.sh, start-redis.sh): what the reading follows since
                "function-local variables",
                "options with values chosen at run time",
            ];
            for (const cls of required) {
                assert.ok(classes.has(cls), cls);
            }
            assert.deepStrictEqual(Array.from(new Set(cases.map((c) => c.policy))).sort(), policies.map((p) => p.name).sort());
        });

        it("is caught in full (each manifest by exactly its policy; see the per-policy specs)", async () => {
            const missed: string[] = [];
            for (const c of cases) {
                const vs = await run(overlay(c.file), c.config);
                if (!vs.some((v) => v.policyName === c.policy && v.enforcementLevel === "mandatory")) {
                    missed.push(path.basename(c.file));
                }
            }
            assert.deepStrictEqual(missed, []);
        });
    });

    describe("unusual but compliant manifests (tests/fixtures/policy/compliant-unusual)", () => {
        const cases = corpus("compliant-unusual");

        it("has at least 10 of them, each saying what it expects", () => {
            assert.ok(cases.length >= 10, `${cases.length}`);
            for (const c of cases) {
                assert.ok(c.expect === "no violations" || c.expect === "cannot verify", `${c.file}: # expect: ${c.expect}`);
            }
        });

        for (const c of cases) {
            it(`${c.expect === "no violations" ? "passes" : "makes no claim on"} ${path.basename(c.file)} (${c.cls}): ${c.trick}`, async () => {
                for (const config of [c.config, loadPolicyConfig(path.join(ROOT, "Pulumi.prod.policy.json")), loadPolicyConfig(path.join(ROOT, "Pulumi.dev.policy.json"))]) {
                    const vs = await run(overlay(c.file), config);
                    if (c.expect === "no violations") {
                        assert.deepStrictEqual(vs, [], formatReport(vs));
                    } else {
                        assert.ok(vs.every(isUnverifiable), `only "cannot verify" findings are allowed:\n${formatReport(vs)}`);
                    }
                }
            });
        }
    });

    describe("manifests the pack cannot verify (tests/fixtures/policy/unverifiable)", () => {
        const cases = corpus("unverifiable");

        it("has some, each naming the policy that says so", () => {
            assert.ok(cases.length >= 4, `${cases.length}`);
            const names = new Set(policies.map((p) => p.name));
            for (const c of cases) {
                assert.ok(c.policy && names.has(c.policy), `${c.file}: # policy: ${c.policy}`);
            }
        });

        for (const c of cases) {
            it(`says it cannot verify ${path.basename(c.file)} (${c.cls}), and claims nothing: ${c.trick}`, async () => {
                const vs = await run(overlay(c.file), c.config);
                assert.ok(vs.some((v) => v.policyName === c.policy && v.enforcementLevel === "mandatory" && isUnverifiable(v)), formatReport(vs));
                assert.ok(vs.every(isUnverifiable), formatReport(vs));
                for (const v of vs) {
                    assert.match(v.message, /: cannot verify that .+\. Fix: to make it verifiable, \S.*\.$/, v.message);
                }
            });
        }
    });
});
