// Policy pack tests: every policy against the hand-written compliant stack
// (tests/fixtures/policy/compliant), single-field mutations of it that must trip exactly the named
// policy, the realistic violating fixtures, config knobs, metadata and robustness. Policies run
// through policy/runner.ts, i.e. the same validateResource/validateStack functions the CLI calls.

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { evaluate, formatReport, loadManifests, loadPolicyConfig, PolicyPackConfig, Violation } from "../policy/runner";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies } from "../policy/policies";
import { matchForbidden, parseImageRef, registryAllowed } from "../policy/policies/containerImages";
import { commandWords } from "../policy/policies/k8s";
import { findCommandLineCredentials, isCredentialName } from "../policy/policies/noPlaintextCredentials";
import { plaintextListeners, parseProperties } from "../policy/policies/kafkaNoPlaintextListeners";

const ROOT = path.resolve(__dirname, "..");
const FIXTURES = path.join(__dirname, "fixtures", "policy");

/** Fixtures are untyped YAML; tests poke into them freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** A fresh copy of the compliant stack (loaded from disk each time, so mutations never leak). */
function stack(): Json[] {
    return loadManifests([path.join(FIXTURES, "compliant")]) as Json[];
}

function fixture(name: string): Json[] {
    return loadManifests([path.join(FIXTURES, "violating", name)]) as Json[];
}

function obj(objs: Json[], kind: string, name: string, namespace?: string): Json {
    const found = objs.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
    assert.ok(found, `fixture has no ${kind} ${name}`);
    return found;
}

function podSpec(o: Json): Json {
    return o.kind === "Pod" ? o.spec : o.kind === "CronJob" ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
}

function container(o: Json, name?: string): Json {
    const spec = podSpec(o);
    const all = [...(spec.initContainers ?? []), ...spec.containers];
    const c = name === undefined ? spec.containers[0] : all.find((x: Json) => x.name === name);
    assert.ok(c, `no container ${name}`);
    return c;
}

async function run(objs: Json[], config?: PolicyPackConfig): Promise<Violation[]> {
    return evaluate(objs, config);
}

/** Asserts no violation at all, printing the report otherwise. */
async function expectClean(objs: Json[], config?: PolicyPackConfig): Promise<void> {
    const vs = await run(objs, config);
    assert.deepStrictEqual(vs, [], formatReport(vs));
}

/** Asserts that violations exist, that all of them come from `policy`, and that one message contains `text`. */
async function expectOnly(objs: Json[], policy: string, text: string, config?: PolicyPackConfig): Promise<Violation[]> {
    const vs = await run(objs, config);
    assert.ok(vs.length > 0, `expected a ${policy} violation, got none`);
    assert.deepStrictEqual(Array.from(new Set(vs.map((v) => v.policyName))), [policy], formatReport(vs));
    assert.ok(
        vs.some((v) => v.message.includes(text)),
        `no ${policy} message contains ${JSON.stringify(text)}:\n${formatReport(vs)}`,
    );
    return vs;
}

function stripComments(ts: string): string {
    return ts.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function ofPolicy(vs: Violation[], policy: string): Violation[] {
    return vs.filter((v) => v.policyName === policy);
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

    describe("container-security-context", () => {
        it("accepts runAsNonRoot and seccomp at pod level only", async () => {
            const objs = stack();
            const c = container(obj(objs, "StatefulSet", "mariadb"), "mariadb");
            delete c.securityContext.runAsNonRoot;
            await expectClean(objs);
        });

        it("flags a container without runAsNonRoot at either level", async () => {
            const objs = stack();
            delete podSpec(obj(objs, "StatefulSet", "redis")).securityContext.runAsNonRoot;
            await expectOnly(objs, "container-security-context", 'container "redis": runAsNonRoot is not true');
        });

        it("lets the container's seccomp profile win over the pod's", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "kafka")).securityContext.seccompProfile = { type: "Unconfined" };
            await expectOnly(objs, "container-security-context", "seccompProfile is Unconfined");
            const objs2 = stack();
            const sts = obj(objs2, "StatefulSet", "kafka");
            delete podSpec(sts).securityContext.seccompProfile;
            container(sts).securityContext.seccompProfile = { type: "RuntimeDefault" };
            await expectClean(objs2);
        });

        it("checks init containers", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "init-perms").securityContext.readOnlyRootFilesystem = false;
            await expectOnly(objs, "container-security-context", 'init container "init-perms": readOnlyRootFilesystem is not true');
        });

        it("checks the CronJob pod spec under jobTemplate", async () => {
            const objs = stack();
            container(obj(objs, "CronJob", "mariadb-backup")).securityContext.privileged = true;
            const vs = await expectOnly(objs, "container-security-context", "privileged is true");
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["CronJob", "db", "mariadb-backup"]);
        });

        it("flags privilege escalation, kept capabilities, added capabilities and UID 0", async () => {
            const objs = stack();
            const sc = container(obj(objs, "Deployment", "redis-exporter")).securityContext;
            delete sc.allowPrivilegeEscalation;
            sc.capabilities = { drop: ["NET_RAW"], add: ["SYS_ADMIN", "NET_BIND_SERVICE"] };
            sc.runAsUser = 0;
            const vs = await expectOnly(objs, "container-security-context", "allowPrivilegeEscalation is not false");
            for (const text of ["capabilities.drop does not contain ALL", "capabilities.add grants SYS_ADMIN", "runAsUser is 0"]) {
                assert.ok(vs[0].message.includes(text), text);
            }
            assert.ok(!vs[0].message.split("Fix:")[0].includes("NET_BIND_SERVICE"), "NET_BIND_SERVICE may be added");
        });

        it("checks ephemeral containers and every pod-bearing kind of the violating fixture", async () => {
            const vs = ofPolicy(await run(fixture("workloads.yaml")), "container-security-context");
            assert.ok(vs.some((v) => v.kind === "Pod" && v.message.includes('ephemeral container "debugger"') && v.message.includes("privileged is true")));
            assert.deepStrictEqual(Array.from(new Set(vs.map((v) => v.kind))).sort(), ["CronJob", "DaemonSet", "Deployment", "Job", "Pod"]);
        });
    });

    describe("pod-host-isolation", () => {
        it("flags hostNetwork, hostPID, hostIPC, hostPath volumes and hostPorts", async () => {
            const objs = stack();
            const spec = podSpec(obj(objs, "StatefulSet", "mariadb"));
            spec.hostNetwork = true;
            spec.volumes.push({ name: "host", hostPath: { path: "/var/lib/mysql-host" } });
            await expectOnly(objs, "pod-host-isolation", 'hostNetwork is true; volume "host" is a hostPath (/var/lib/mysql-host)');
            const vs = ofPolicy(await run(fixture("workloads.yaml")), "pod-host-isolation");
            assert.ok(vs.some((v) => v.kind === "DaemonSet" && /hostPID is true; hostIPC is true; container "agent" binds hostPort 9100/.test(v.message)));
        });

        it("accepts hostNetwork: false", async () => {
            const objs = stack();
            podSpec(obj(objs, "StatefulSet", "mariadb")).hostNetwork = false;
            await expectClean(objs);
        });
    });

    describe("container-resources", () => {
        it("requires a memory limit", async () => {
            const objs = stack();
            delete container(obj(objs, "StatefulSet", "redis")).resources.limits;
            await expectOnly(objs, "container-resources", 'container "redis": missing resources limits.memory');
        });

        it("requires CPU and memory requests on init containers too", async () => {
            const objs = stack();
            delete container(obj(objs, "StatefulSet", "mariadb"), "init-perms").resources.requests;
            await expectOnly(objs, "container-resources", 'init container "init-perms": missing resources requests.cpu, requests.memory');
        });

        it("requires a CPU limit only with requireCpuLimit", async () => {
            const vs = await expectOnly(stack(), "container-resources", "limits.cpu", { "container-resources": { requireCpuLimit: true } });
            assert.ok(!vs.some((v) => v.name === "mariadb" && v.message.startsWith('container "mariadb"')), "mariadb sets a CPU limit");
        });
    });

    describe("container-images", () => {
        it("normalises references like the container runtime", () => {
            assert.deepStrictEqual(parseImageRef("redis:7.2"), { written: "redis", registry: "docker.io", name: "docker.io/library/redis", familiar: "redis", tag: "7.2", digest: undefined });
            assert.strictEqual(parseImageRef("bitnami/redis")?.name, "docker.io/bitnami/redis");
            assert.strictEqual(parseImageRef("bitnami/redis")?.tag, undefined);
            assert.strictEqual(parseImageRef("index.docker.io/library/mariadb:11")?.familiar, "mariadb");
            const local = parseImageRef("localhost:5000/team/app");
            assert.deepStrictEqual([local?.registry, local?.tag], ["localhost:5000", undefined]);
            const pinned = parseImageRef("ghcr.io/acme/app:1.2@sha256:" + "a".repeat(64));
            assert.deepStrictEqual([pinned?.registry, pinned?.tag, pinned?.digest], ["ghcr.io", "1.2", "sha256:" + "a".repeat(64)]);
        });

        it("matches forbidden patterns on the written, normalised and short names", () => {
            const patterns = ["bitnami/*", "docker.io/bitnami/*"];
            for (const image of ["bitnami/redis:7.2", "docker.io/bitnami/kafka:3.7", "registry-1.docker.io/bitnami/mariadb:11"]) {
                assert.ok(matchForbidden(parseImageRef(image)!, patterns), image);
            }
            assert.strictEqual(matchForbidden(parseImageRef("ghcr.io/bitnami/redis:7")!, patterns), undefined);
            assert.strictEqual(matchForbidden(parseImageRef("redis:7.2-alpine")!, patterns), undefined);
            assert.ok(registryAllowed(parseImageRef("redis:7.2-alpine")!, ["docker.io/library"]));
            assert.ok(!registryAllowed(parseImageRef("apache/kafka:3.8.1")!, ["docker.io/library", "ghcr.io"]));
        });

        it("flags an image without a tag and the latest tag", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").image = "mariadb";
            await expectOnly(objs, "container-images", 'image "mariadb" has no tag (pulls latest)');
            const objs2 = stack();
            container(obj(objs2, "StatefulSet", "mariadb"), "mariadb").image = "docker.io/library/mariadb:latest";
            await expectOnly(objs2, "container-images", "uses the latest tag");
        });

        it("accepts a digest without a tag", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").image = "mariadb@sha256:" + "0123456789abcdef".repeat(4);
            await expectClean(objs);
        });

        it("requires digests with requireDigest", async () => {
            const vs = await expectOnly(stack(), "container-images", "is not pinned by digest", { "container-images": { requireDigest: true } });
            assert.ok(!vs.some((v) => v.name === "redis-exporter"), "the exporter is pinned by digest");
        });

        it("restricts registries with allowedRegistries (docker.io normalisation)", async () => {
            await expectClean(stack(), { "container-images": { allowedRegistries: ["docker.io"] } });
            const vs = await expectOnly(stack(), "container-images", "is not from an allowed registry", { "container-images": { allowedRegistries: ["docker.io/library"] } });
            assert.deepStrictEqual(vs.map((v) => v.name).sort(), ["kafka", "redis-exporter"]);
        });

        it("forbids Bitnami images by default and follows forbiddenImages", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "redis")).image = "bitnami/redis:7.2.4-debian-12-r9";
            await expectOnly(objs, "container-images", 'matches forbidden pattern "bitnami/*"');
            const objs2 = stack();
            container(obj(objs2, "StatefulSet", "redis")).image = "bitnami/redis:7.2.4-debian-12-r9";
            await expectClean(objs2, { "container-images": { forbiddenImages: [] } });
            await expectOnly(stack(), "container-images", "redis_exporter", { "container-images": { forbiddenImages: ["*/redis_exporter*"] } });
        });
    });

    describe("no-plaintext-credentials", () => {
        it("recognises credential-looking names", () => {
            for (const n of ["MARIADB_ROOT_PASSWORD", "REDIS_PASSWORD", "API_KEY", "APIKEY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "TLS_PRIVATE_KEY", "REDIS_AUTH", "DB_PASS", "MYSQL_PWD", "KAFKA_SASL_JAAS_CONFIG", "db-credentials"]) {
                assert.ok(isCredentialName(n), n);
            }
            for (const n of ["PWD", "HOME", "KAFKA_HEAP_OPTS", "AUTHOR", "PASSIVE_MODE", "MARIADB_USER", "REDIS_ADDR"]) {
                assert.ok(!isCredentialName(n), n);
            }
        });

        it("finds literal credentials on command lines but not references", () => {
            const cases: Array<[string[], string[]]> = [
                [["redis-server", "--requirepass", "hunter2"], ["--requirepass"]],
                [["redis-server", "--requirepass", "$(REDIS_PASSWORD)"], []],
                [["sh", "-c", "mysql -uroot -pS3cret -e 'select 1'"], ["-p<password>"]],
                [["sh", "-c", 'mysql -uroot -p"$MYSQL_ROOT_PASSWORD"'], []],
                [["mysql", "--password", "orders"], []],
                [["mariadb", "--password=x"], ["--password"]],
                [["redis-cli", "-a", "x", "ping"], ["-a (redis-cli)"]],
                [["sh", "-c", 'redis-cli -a "$REDIS_PASSWORD" ping'], []],
                [["app", "--password-file=/run/secrets/pw", "--token-file", "/t"], []],
                [["app", "-p8080"], []],
                [["sh", "-c", "PGPASSWORD=x psql"], ["PGPASSWORD="]],
                [["curl", "https://user:pw@example.com"], ["a URL with user:password@"]],
            ];
            for (const [words, expected] of cases) {
                assert.deepStrictEqual(findCommandLineCredentials(commandWords(words)), expected, words.join(" "));
            }
        });

        it("flags a plain env value without echoing it", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").env[1] = { name: "MARIADB_PASSWORD", value: "hunter2" };
            const vs = await expectOnly(objs, "no-plaintext-credentials", "env MARIADB_PASSWORD has a plain value");
            assert.ok(!vs.some((v) => v.message.includes("hunter2")));
        });

        it("accepts *_FILE with an absolute path only", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").env[0].value = "secrets/root-password";
            await expectOnly(objs, "no-plaintext-credentials", "env MARIADB_ROOT_PASSWORD_FILE has a plain value");
        });

        it("flags configMapKeyRef for credentials but accepts envFrom configMapRef", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "mariadb"), "mariadb").env[1].valueFrom = { configMapKeyRef: { name: "mariadb-config", key: "password" } };
            await expectOnly(objs, "no-plaintext-credentials", "reads a credential from ConfigMap mariadb-config");
            const objs2 = stack();
            container(obj(objs2, "StatefulSet", "mariadb"), "mariadb").envFrom = [{ configMapRef: { name: "mariadb-config" } }];
            await expectClean(objs2);
        });

        it("flags literal passwords in args and probes", async () => {
            const objs = stack();
            const redis = container(obj(objs, "StatefulSet", "redis"));
            redis.args = ["--requirepass", "hunter2"];
            redis.livenessProbe = { exec: { command: ["sh", "-c", "redis-cli -a hunter2 ping"] } };
            const vs = await expectOnly(objs, "no-plaintext-credentials", "command/args passes a literal credential via --requirepass");
            assert.ok(vs[0].message.includes("livenessProbe passes a literal credential via -a (redis-cli)"));
            assert.ok(!vs[0].message.includes("hunter2"));
        });

        it("exempts names listed in allowedEnvNames", async () => {
            const objs = stack();
            container(obj(objs, "StatefulSet", "kafka")).env.push({ name: "TOKEN_TTL", value: "3600" });
            await expectOnly(objs, "no-plaintext-credentials", "env TOKEN_TTL has a plain value");
            await expectClean(objs, { "no-plaintext-credentials": { allowedEnvNames: ["TOKEN_TTL"] } });
        });
    });

    describe("namespace-pod-security-labels", () => {
        it("requires enforce, audit and warn at restricted by default", async () => {
            const objs = stack();
            const labels = obj(objs, "Namespace", "db").metadata.labels;
            delete labels["pod-security.kubernetes.io/warn"];
            labels["pod-security.kubernetes.io/enforce"] = "baseline";
            const vs = await expectOnly(objs, "namespace-pod-security-labels", "label pod-security.kubernetes.io/warn is missing");
            assert.ok(vs[0].message.includes("pod-security.kubernetes.io/enforce=baseline is weaker than restricted"));
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["Namespace", "", "db"]);
        });

        it("follows the level knob (privileged < baseline < restricted)", async () => {
            const objs = stack();
            const labels = obj(objs, "Namespace", "cache").metadata.labels;
            for (const mode of ["enforce", "audit", "warn"]) {
                labels[`pod-security.kubernetes.io/${mode}`] = "baseline";
            }
            await expectClean(objs, { "namespace-pod-security-labels": { level: "baseline" } });
            await expectClean(objs, { "namespace-pod-security-labels": { level: "privileged" } });
            labels["pod-security.kubernetes.io/audit"] = "privileged";
            await expectOnly(objs, "namespace-pod-security-labels", "audit=privileged is weaker than baseline", { "namespace-pod-security-labels": { level: "baseline" } });
            labels["pod-security.kubernetes.io/audit"] = "strict";
            await expectOnly(objs, "namespace-pod-security-labels", "audit=strict is not a Pod Security level");
        });
    });

    describe("data-service-exposure", () => {
        for (const type of ["NodePort", "LoadBalancer"]) {
            it(`flags a ${type} Service on a data port`, async () => {
                const objs = stack();
                obj(objs, "Service", "mariadb").spec.type = type;
                const vs = await expectOnly(objs, "data-service-exposure", `type ${type} exposes data port(s) 3306`);
                assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["Service", "db", "mariadb"]);
            });
        }

        it("flags externalIPs and ignores non-data ports and ExternalName", async () => {
            const objs = stack();
            obj(objs, "Service", "redis-headless").spec.externalIPs = ["198.51.100.7"];
            await expectOnly(objs, "data-service-exposure", "externalIPs (198.51.100.7)");
            const web = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "db" }, spec: { type: "LoadBalancer", ports: [{ port: 443, targetPort: 8443 }] } };
            const ext = { apiVersion: "v1", kind: "Service", metadata: { name: "ext", namespace: "db" }, spec: { type: "ExternalName", externalName: "db.example.com", ports: [{ port: 3306 }] } };
            await expectClean([...stack(), web, ext]);
            await expectOnly([...stack(), web], "data-service-exposure", "type LoadBalancer exposes data port(s) 443", { "data-service-exposure": { dataPorts: [443] } });
        });
    });

    describe("pvc-storage-class", () => {
        it("forbids local-path by default on volumeClaimTemplates and PVCs", async () => {
            const objs = stack();
            obj(objs, "StatefulSet", "redis").spec.volumeClaimTemplates[0].spec.storageClassName = "local-path";
            obj(objs, "PersistentVolumeClaim", "mariadb-backup").spec.storageClassName = "local-path";
            const vs = await expectOnly(objs, "pvc-storage-class", 'volumeClaimTemplate "data" uses forbidden storage class "local-path"');
            // grouped by object in load order: cache.yaml sorts before db-backup-pvc.json
            assert.deepStrictEqual(vs.map((v) => `${v.kind} ${v.name}`), ["StatefulSet redis", "PersistentVolumeClaim mariadb-backup"]);
        });

        it("flags a missing storageClassName unless allowDefaultStorageClass", async () => {
            const objs = stack();
            delete obj(objs, "StatefulSet", "kafka").spec.volumeClaimTemplates[0].spec.storageClassName;
            await expectOnly(objs, "pvc-storage-class", "sets no storageClassName, so it gets the cluster's default class");
            await expectClean(objs, { "pvc-storage-class": { allowDefaultStorageClass: true } });
        });

        it("honours the allowed list, the forbidden list and the legacy annotation", async () => {
            const objs = stack();
            const pvc = obj(objs, "PersistentVolumeClaim", "mariadb-backup");
            delete pvc.spec.storageClassName;
            pvc.metadata.annotations = { "volume.beta.kubernetes.io/storage-class": "fast-ssd" };
            await expectClean(objs);
            await expectOnly(objs, "pvc-storage-class", 'uses storage class "fast-ssd", which is not in the allowed list (longhorn)', { "pvc-storage-class": { allowedStorageClasses: ["longhorn"] } });
            pvc.metadata.annotations["volume.beta.kubernetes.io/storage-class"] = "local-path";
            await expectClean(objs, { "pvc-storage-class": { forbiddenStorageClasses: [] } });
        });

        it("checks generic ephemeral volumes", async () => {
            const objs = stack();
            podSpec(obj(objs, "Deployment", "redis-exporter")).volumes = [{ name: "scratch", ephemeral: { volumeClaimTemplate: { spec: { storageClassName: "local-path" } } } }];
            await expectOnly(objs, "pvc-storage-class", 'ephemeral volume "scratch" uses forbidden storage class');
        });
    });

    describe("statefulset-pvc-retention", () => {
        it("requires an explicit Retain for whenDeleted and whenScaled", async () => {
            const objs = stack();
            delete obj(objs, "StatefulSet", "mariadb").spec.persistentVolumeClaimRetentionPolicy;
            await expectOnly(objs, "statefulset-pvc-retention", "persistentVolumeClaimRetentionPolicy.whenDeleted is not set (the implicit Retain default must be stated explicitly)");
            const objs2 = stack();
            obj(objs2, "StatefulSet", "kafka").spec.persistentVolumeClaimRetentionPolicy.whenScaled = "Delete";
            await expectOnly(objs2, "statefulset-pvc-retention", "whenScaled is Delete");
        });

        it("ignores StatefulSets without volumeClaimTemplates", async () => {
            const objs = stack();
            const sts = obj(objs, "StatefulSet", "mariadb");
            delete sts.spec.persistentVolumeClaimRetentionPolicy;
            delete sts.spec.volumeClaimTemplates;
            await expectClean(objs);
        });
    });

    describe("statefulset-service-account", () => {
        it("accepts the token switched off on the ServiceAccount instead of the pod", async () => {
            const objs = stack();
            delete podSpec(obj(objs, "StatefulSet", "redis")).automountServiceAccountToken;
            await expectClean(objs);
        });

        it("flags the token when neither the pod nor the ServiceAccount turns it off", async () => {
            const objs = stack();
            delete podSpec(obj(objs, "StatefulSet", "redis")).automountServiceAccountToken;
            obj(objs, "ServiceAccount", "redis").automountServiceAccountToken = true;
            await expectOnly(objs, "statefulset-service-account", "neither the pod spec nor ServiceAccount cache/redis sets automountServiceAccountToken: false");
            const objs2 = stack();
            delete podSpec(obj(objs2, "StatefulSet", "redis")).automountServiceAccountToken;
            objs2.splice(objs2.indexOf(obj(objs2, "ServiceAccount", "redis")), 1);
            await expectOnly(objs2, "statefulset-service-account", "ServiceAccount cache/redis is not part of this stack");
        });

        it("flags an explicit true on the pod even if the ServiceAccount says false", async () => {
            const objs = stack();
            podSpec(obj(objs, "StatefulSet", "kafka")).automountServiceAccountToken = true;
            await expectOnly(objs, "statefulset-service-account", "the pod spec sets automountServiceAccountToken: true");
        });

        it("flags the default ServiceAccount", async () => {
            const objs = stack();
            delete podSpec(obj(objs, "StatefulSet", "mariadb")).serviceAccountName;
            const vs = await expectOnly(objs, "statefulset-service-account", 'runs as the "default" ServiceAccount');
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["StatefulSet", "db", "mariadb"]);
        });
    });

    describe("namespace-default-deny-ingress", () => {
        it("requires a default-deny ingress policy where a StatefulSet runs, reported per namespace", async () => {
            const objs = stack();
            objs.splice(objs.indexOf(obj(objs, "NetworkPolicy", "default-deny-ingress", "db")), 1);
            const vs = await expectOnly(objs, "namespace-default-deny-ingress", 'namespace "db": runs StatefulSet mariadb but has no default-deny ingress NetworkPolicy');
            assert.deepStrictEqual([vs.length, vs[0].kind, vs[0].namespace, vs[0].name], [1, "Namespace", "db", "-"]);
        });

        it("does not count policies with a pod selector or ingress rules as default-deny", async () => {
            for (const spec of [
                { podSelector: { matchLabels: { app: "x" } }, policyTypes: ["Ingress"] },
                { podSelector: {}, policyTypes: ["Ingress"], ingress: [{}] },
                { podSelector: {}, policyTypes: ["Egress"] },
            ]) {
                const objs = stack();
                obj(objs, "NetworkPolicy", "default-deny-ingress", "messaging").spec = spec;
                const vs = ofPolicy(await run(objs), "namespace-default-deny-ingress");
                assert.deepStrictEqual(vs.map((v) => `${v.kind} ${v.namespace}/${v.name}`), ["Namespace messaging/-"], JSON.stringify(spec));
            }
        });

        it("accepts an omitted policyTypes (Kubernetes implies Ingress) and is off in dev", async () => {
            const objs = stack();
            delete obj(objs, "NetworkPolicy", "default-deny-ingress", "messaging").spec.policyTypes;
            await expectClean(objs);
            const noPolicies = stack().filter((o) => o.kind !== "NetworkPolicy");
            await expectClean(noPolicies, loadPolicyConfig(path.join(ROOT, "Pulumi.dev.policy.json")));
        });
    });

    describe("network-policy-data-ports", () => {
        it("flags a rule without from on a data port, including named ports", async () => {
            const objs = stack();
            delete obj(objs, "NetworkPolicy", "allow-clients", "db").spec.ingress[0].from;
            const vs = await expectOnly(objs, "network-policy-data-ports", "ingress rule #1 opens data port(s) 3306 to all sources (it has no from, so every source)");
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["NetworkPolicy", "db", "allow-clients"]);
        });

        it("flags namespaceSelector {} without podSelector and ipBlock ::/0, not a restricted peer", async () => {
            const objs = stack();
            obj(objs, "NetworkPolicy", "allow-clients", "db").spec.ingress[0].from = [{ namespaceSelector: {} }];
            await expectOnly(objs, "network-policy-data-ports", "namespaceSelector {} without a podSelector");
            const objs2 = stack();
            obj(objs2, "NetworkPolicy", "allow-clients", "db").spec.ingress[0].from = [{ namespaceSelector: {}, podSelector: { matchLabels: { role: "client" } } }];
            await expectClean(objs2);
            const objs3 = stack();
            obj(objs3, "NetworkPolicy", "allow-peers", "messaging").spec.ingress[0].from = [{ ipBlock: { cidr: "::/0" } }];
            await expectOnly(objs3, "network-policy-data-ports", "opens data port(s) 9093, 9094 to all sources (ipBlock ::/0)");
        });

        it("resolves port ranges and ignores UDP and non-data ports", async () => {
            const objs = stack();
            const rule = obj(objs, "NetworkPolicy", "allow-clients", "db").spec.ingress[0];
            delete rule.from;
            rule.ports = [{ port: 3300, endPort: 3310 }];
            await expectOnly(objs, "network-policy-data-ports", "opens data port(s) 3306");
            rule.ports = [{ port: 3306, protocol: "UDP" }, { port: 8080 }];
            await expectClean(objs);
            await expectOnly(objs, "network-policy-data-ports", "opens data port(s) 8080", { "network-policy-data-ports": { dataPorts: [8080] } });
        });
    });

    describe("redis-requires-auth", () => {
        function redisStack(): { objs: Json[]; conf: Json; redis: Json } {
            const objs = stack();
            return { objs, conf: obj(objs, "ConfigMap", "redis-config"), redis: container(obj(objs, "StatefulSet", "redis")) };
        }

        it("flags a mounted redis.conf that sets neither requirepass nor aclfile", async () => {
            const { objs, conf } = redisStack();
            conf.data["redis.conf"] = "dir /data\nappendonly yes\n# requirepass is commented out\n";
            await expectOnly(objs, "redis-requires-auth", "config file /etc/redis/redis.conf (ConfigMap cache/redis-config key redis.conf) sets neither requirepass nor aclfile");
        });

        it("accepts requirepass in the config file and flags nopass or an empty requirepass", async () => {
            const { objs, conf } = redisStack();
            conf.data["redis.conf"] = 'dir /data\nrequirepass "s3cret-from-a-template"\n';
            await expectClean(objs);
            conf.data["redis.conf"] = "requirepass x\nuser default on nopass ~* +@all\n";
            await expectOnly(objs, "redis-requires-auth", "says nopass");
            conf.data["redis.conf"] = 'requirepass ""\n';
            await expectOnly(objs, "redis-requires-auth", "sets an empty requirepass");
        });

        it("flags an ACL file that lets the default user in without a password", async () => {
            const { objs } = redisStack();
            obj(objs, "Secret", "redis-acl").stringData["users.acl"] = "user default on nopass ~* +@all\n";
            await expectOnly(objs, "redis-requires-auth", "ACL file /etc/redis/acl/users.acl (Secret cache/redis-acl key users.acl) lets the default user in with nopass");
        });

        it("cannot verify a config file whose ConfigMap is not in the stack", async () => {
            const { objs, conf } = redisStack();
            objs.splice(objs.indexOf(conf), 1);
            await expectOnly(objs, "redis-requires-auth", "comes from ConfigMap cache/redis-config, which is not part of this stack");
        });

        it("accepts --requirepass from an env reference and flags a redis image with no auth at all", async () => {
            const { objs, redis } = redisStack();
            redis.command = ["redis-server", "--requirepass", "$(REDIS_PASSWORD)"];
            await expectClean(objs);
            delete redis.command;
            redis.image = "registry.example.com/mirror/redis:7.2.5";
            await expectOnly(objs, "redis-requires-auth", 'container "redis" runs redis-server without authentication: no --requirepass or --aclfile argument and no config file');
        });

        it("checks any image that runs redis-server, and skips helpers and clients", async () => {
            const { objs, redis } = redisStack();
            redis.image = "ghcr.io/acme/cache-server:1.0";
            redis.command = ["redis-server", "--port", "6379"];
            await expectOnly(objs, "redis-requires-auth", "no --requirepass");
            const objs2 = stack();
            podSpec(obj(objs2, "StatefulSet", "mariadb")).initContainers[0].image = "redis:7.2-alpine";
            await expectClean(objs2);
            const vs = ofPolicy(await run(fixture("workloads.yaml")), "redis-requires-auth");
            assert.deepStrictEqual(vs, [], "redis-cli init container is not a server");
        });

        it("reads the mounted file through a subPath mount", async () => {
            const vs = ofPolicy(await run(fixture("redis-nopass.yaml")), "redis-requires-auth");
            assert.strictEqual(vs.length, 1);
            assert.ok(vs[0].message.includes("/usr/local/etc/redis/redis.conf (ConfigMap cache/redis-config key redis.conf) says nopass"), vs[0].message);
        });
    });

    describe("kafka-no-plaintext-listeners", () => {
        function kafkaStack(): { objs: Json[]; conf: Json; kafka: Json } {
            const objs = stack();
            return { objs, conf: obj(objs, "ConfigMap", "kafka-config"), kafka: container(obj(objs, "StatefulSet", "kafka")) };
        }

        it("parses properties and ignores the controller listener", () => {
            const props = parseProperties("# c\nlisteners=CLIENT://:9092,CONTROLLER://:9093\nlistener.security.protocol.map = CLIENT:SASL_SSL,CONTROLLER:PLAINTEXT\ncontroller.listener.names=CONTROLLER\n");
            assert.deepStrictEqual(plaintextListeners(props), []);
            props.set("listener.security.protocol.map", "CLIENT:PLAINTEXT,CONTROLLER:PLAINTEXT");
            assert.deepStrictEqual(plaintextListeners(props), ["CLIENT"]);
            assert.deepStrictEqual(plaintextListeners(new Map([["listeners", "PLAINTEXT://:9092,SSL://:9093"]])), ["PLAINTEXT"]);
        });

        it("flags a PLAINTEXT client listener in the mounted server.properties unless allowPlaintext", async () => {
            const { objs, conf } = kafkaStack();
            conf.data["server.properties"] = conf.data["server.properties"].replace("CLIENT:SASL_PLAINTEXT", "CLIENT:PLAINTEXT");
            const vs = await expectOnly(objs, "kafka-no-plaintext-listeners", "listener CLIENT uses the PLAINTEXT security protocol (from /mnt/kafka-config/server.properties (ConfigMap messaging/kafka-config key server.properties)");
            assert.deepStrictEqual([vs[0].kind, vs[0].namespace, vs[0].name], ["StatefulSet", "messaging", "kafka"]);
            await expectClean(objs, { "kafka-no-plaintext-listeners": { allowPlaintext: true } });
            await expectClean(objs, loadPolicyConfig(path.join(ROOT, "Pulumi.dev.policy.json")));
        });

        it("accepts a PLAINTEXT controller listener", async () => {
            const { objs, conf } = kafkaStack();
            conf.data["server.properties"] = conf.data["server.properties"].replace("CONTROLLER:SASL_PLAINTEXT", "CONTROLLER:PLAINTEXT");
            await expectClean(objs);
        });

        it("lets env override the file, including the Bitnami KAFKA_CFG_ form", async () => {
            const { objs, kafka } = kafkaStack();
            kafka.env.push({ name: "KAFKA_CFG_LISTENER_SECURITY_PROTOCOL_MAP", value: "CLIENT:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT" });
            await expectOnly(objs, "kafka-no-plaintext-listeners", "listener INTERNAL uses the PLAINTEXT security protocol");
        });

        it("flags a PLAINTEXT:// listener configured through env only", async () => {
            const vs = await expectOnly(fixture("kafka-plaintext.yaml"), "kafka-no-plaintext-listeners", "listener PLAINTEXT uses the PLAINTEXT security protocol (from the container env)");
            assert.strictEqual(vs.length, 1);
        });

        it("flags a kafka image left at its default PLAINTEXT configuration", async () => {
            const { objs, kafka } = kafkaStack();
            delete kafka.command;
            kafka.volumeMounts = kafka.volumeMounts.filter((m: Json) => m.name !== "config");
            await expectOnly(objs, "kafka-no-plaintext-listeners", "the image's default PLAINTEXT listener is used");
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
            // The image is read by container-images and by the two stack policies that look for
            // redis/kafka images; each of them gives up with an advisory, nothing crashes.
            assert.deepStrictEqual(
                vs.map((v) => [v.enforcementLevel, v.policyName, v.name]),
                [
                    ["advisory", "container-images", "mariadb"],
                    ["advisory", "redis-requires-auth", "-"],
                    ["advisory", "kafka-no-plaintext-listeners", "-"],
                ],
                formatReport(vs),
            );
            for (const v of vs) {
                assert.match(v.message, /^can't run policy '[a-z-]+' from policy pack 'msa-infra-security' during preview: string value at \.spec\.template\.spec\.containers\.0\.image/);
            }
        });
    });
});
