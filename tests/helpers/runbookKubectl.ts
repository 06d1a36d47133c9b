// Runs a runbook block's kubectl steps against processes a test started instead of a cluster: each command line
// is read as written and must be one this interpreter knows, so a step that changes or no longer fits fails the
// test. A pod the block applies gets its volumes mapped to the test's directories (claims by name, emptyDirs
// new); `kubectl cp` and `kubectl exec` then work on those directories, with the pod's absolute paths translated.
// Secrets become files, in-cluster host names what the test says they resolve to, and `create job --from=cronjob`
// runs the test's rendered CronJob. Only what the restore runbooks use is understood; anything else is refused by name.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { describeRun, makeTempDir, run } from "../../scripts/lib/servers";
import { appliedManifests, commandLines, DOCS_ROOT } from "./runbooks";

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface RunbookCluster {
    namespace: string;
    /** Host directories of the claims the block's pods may mount, by claim name. */
    claims: Record<string, string>;
    /** The StatefulSet's pod labels (for `-l` selectors). */
    podLabels: Record<string, string>;
    /** `kubectl scale statefulset <name> --replicas=N`: stop (0) or start (more) the test's servers. */
    scale?(statefulSet: string, replicas: string): Promise<void>;
    /** Whether the StatefulSet's pods are all gone (`kubectl wait --for=delete`). */
    stopped?(): boolean;
    /** The Secrets the block's pods may mount, by name: their keys and values (written as files, mode 0400). */
    secrets?: Record<string, Record<string, string>>;
    /** In-cluster host names (a Service's DNS name) and what they resolve to here, replaced in `exec` steps. */
    hosts?: Record<string, string>;
    /** Extra environment of `exec` steps (e.g. MYSQL_TCP_PORT: the Service's port is the test server's). */
    env?: Record<string, string>;
    /** `kubectl create job --from=cronjob/<name> <job>`: runs the CronJob's rendered script once. */
    cronJobs?: Record<string, (job: string) => Promise<void>>;
}

/** Shell-like words: spaces separate, single and double quotes group. */
function words(line: string): string[] {
    const out: string[] = [];
    for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]);
    return out;
}

interface Pod {
    mounts: { mountPath: string; host: string; readOnly: boolean }[];
}

/** Runs every command line of `block`; returns what each exec printed, for the test's own checks. */
export async function runRunbook(block: string, cluster: RunbookCluster, scratch: string): Promise<string[]> {
    const manifests = appliedManifests(block) as Any[];
    const pods = new Map<string, Pod>();
    const outputs: string[] = [];
    const inPod = (pod: Pod, p: string, forWrite: boolean): string | undefined => {
        const m = pod.mounts.filter((x) => p === x.mountPath || p.startsWith(`${x.mountPath}/`)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
        if (!m) return undefined;
        if (forWrite) assert.ok(!m.readOnly, `${p} is on a read-only mount`);
        return path.join(m.host, path.relative(m.mountPath, p));
    };
    for (const line of commandLines(block)) {
        const w = words(line);
        assert.strictEqual(w[0], "kubectl", `a step this test cannot run: ${line}`);
        const args = w.slice(1);
        let ns: string | undefined;
        if (args[0] === "-n") {
            ns = args[1];
            args.splice(0, 2);
            assert.strictEqual(ns, cluster.namespace, `${line}: namespace`);
        }
        const [verb, ...rest] = args;
        if (verb === "scale") {
            assert.strictEqual(rest[0], "statefulset", line);
            const replicas = /^--replicas=(.+)$/.exec(rest[2] ?? "");
            assert.ok(replicas, `${line}: --replicas=`);
            assert.ok(cluster.scale, `${line}: this test has no StatefulSet to scale`);
            await cluster.scale!(rest[1], replicas![1]);
        } else if (verb === "wait" && rest[0] === "--for=delete") {
            const sel = rest[rest.indexOf("-l") + 1];
            const [k, v] = sel.split("=");
            assert.strictEqual(cluster.podLabels[k], v, `${line}: the pods carry ${sel}`);
            assert.ok(cluster.stopped?.(), `${line}: the pods are still running`);
        } else if (verb === "apply") {
            assert.deepStrictEqual(rest.slice(0, 3), ["-f", "-", "<<'EOF'"], line);
            const m = manifests.shift();
            assert.ok(m && m.kind === "Pod", `${line}: a Pod manifest`);
            assert.strictEqual(m.metadata.namespace, cluster.namespace);
            const volumes = new Map<string, string>();
            for (const v of m.spec.volumes as Any[]) {
                if (v.persistentVolumeClaim) {
                    const host = cluster.claims[v.persistentVolumeClaim.claimName];
                    assert.ok(host, `claim ${v.persistentVolumeClaim.claimName}: no such claim in the test`);
                    volumes.set(v.name, host);
                } else if (v.secret) {
                    const data = cluster.secrets?.[v.secret.secretName];
                    assert.ok(data || v.secret.optional === true, `Secret ${v.secret.secretName}: no such Secret in the test`);
                    const dir = makeTempDir(`runbook-${v.name}`);
                    for (const [k, value] of Object.entries(data ?? {})) fs.writeFileSync(path.join(dir, k), value, { mode: 0o400 });
                    volumes.set(v.name, dir);
                } else if (v.emptyDir) {
                    volumes.set(v.name, makeTempDir(`runbook-${v.name}`));
                } else {
                    assert.fail(`volume ${v.name}: this test maps claims, Secrets and emptyDirs only`);
                }
            }
            const container = m.spec.containers[0];
            assert.strictEqual(container.securityContext?.readOnlyRootFilesystem, true, "the pod's root filesystem is read-only: every write must go to a mount");
            pods.set(m.metadata.name, {
                mounts: (container.volumeMounts as Any[]).map((vm) => ({ mountPath: vm.mountPath, host: volumes.get(vm.name)!, readOnly: vm.readOnly === true })),
            });
        } else if (verb === "wait") {
            const pod = /^pod\/(.+)$/.exec(rest.find((r) => r.startsWith("pod/")) ?? "");
            assert.ok(pod && pods.has(pod[1]), `${line}: no such pod`);
        } else if (verb === "cp") {
            const [from, to] = rest;
            const [podName, podPath] = to.split(":");
            const pod = pods.get(podName);
            assert.ok(pod, `${line}: no such pod`);
            const host = inPod(pod!, podPath, true);
            assert.ok(host, `${line}: ${podPath} is on the pod's read-only root filesystem`);
            fs.copyFileSync(path.join(DOCS_ROOT, from), host!);
        } else if (verb === "exec") {
            const pod = pods.get(rest[0]);
            assert.ok(pod, `${line}: no such pod`);
            assert.strictEqual(rest[1], "--", line);
            const argv = rest.slice(2);
            // A shell's script (`sh -c '...'`): its absolute paths on the pod's mounts are translated like arguments.
            const script = (argv[0] === "sh" || argv[0] === "bash") && argv[1] === "-c" ? 2 : -1;
            const [cmd, ...cmdArgs] = argv.map((a, i) => {
                let out = a.startsWith("/") ? (inPod(pod!, a, false) ?? a) : a;
                if (i === script) out = out.replace(/(^|[\s"'=>])(\/[A-Za-z0-9._/-]+)/g, (_m: string, pre: string, p: string) => pre + (inPod(pod!, p, false) ?? p));
                for (const [name, to] of Object.entries(cluster.hosts ?? {})) out = out.split(name).join(to);
                return out;
            });
            const env = { PATH: process.env.PATH, HOME: scratch, LANG: "C", TMPDIR: inPod(pod!, "/tmp", true) ?? scratch, ...cluster.env };
            const r = await run(cmd, cmdArgs, { env, timeoutMs: 60_000 });
            assert.strictEqual(r.code, 0, `${line}: ${describeRun(r)}`);
            outputs.push(r.stdout + r.stderr);
        } else if (verb === "create" && rest[0] === "job") {
            const from = /^--from=cronjob\/(.+)$/.exec(rest[1] ?? "");
            assert.ok(from && rest[2], `${line}: create job --from=cronjob/<name> <job>`);
            const cron = cluster.cronJobs?.[from![1]];
            assert.ok(cron, `${line}: no CronJob ${from![1]} in the test`);
            await cron!(rest[2]);
        } else if (verb === "delete") {
            assert.strictEqual(rest[0], "pod", line);
            assert.ok(pods.delete(rest[1]), `${line}: no such pod`);
        } else {
            assert.fail(`a step this test cannot run: ${line}`);
        }
    }
    assert.strictEqual(manifests.length, 0, "every applied manifest was used");
    return outputs;
}
