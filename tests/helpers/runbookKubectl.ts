// Runs a runbook block's kubectl steps against processes a test started instead of a cluster: each command line
// is read as written and must be one this interpreter knows, so a step that changes or no longer fits fails the
// test. A pod the block applies gets its volumes mapped to the test's directories (claims by name, emptyDirs
// new); `kubectl cp` and `kubectl exec` then work on those directories, with the pod's absolute paths translated.
// Only what the restore runbooks use is understood; anything else is refused by name.
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
    scale(statefulSet: string, replicas: string): Promise<void>;
    /** Whether the StatefulSet's pods are all gone (`kubectl wait --for=delete`). */
    stopped(): boolean;
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
            await cluster.scale(rest[1], replicas![1]);
        } else if (verb === "wait" && rest[0] === "--for=delete") {
            const sel = rest[rest.indexOf("-l") + 1];
            const [k, v] = sel.split("=");
            assert.strictEqual(cluster.podLabels[k], v, `${line}: the pods carry ${sel}`);
            assert.ok(cluster.stopped(), `${line}: the pods are still running`);
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
                } else if (v.emptyDir) {
                    volumes.set(v.name, makeTempDir(`runbook-${v.name}`));
                } else {
                    assert.fail(`volume ${v.name}: this test maps claims and emptyDirs only`);
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
            const [cmd, ...cmdArgs] = rest.slice(2).map((a) => (a.startsWith("/") ? (inPod(pod!, a, false) ?? a) : a));
            const r = await run(cmd, cmdArgs, { env: { PATH: process.env.PATH, HOME: scratch, LANG: "C", TMPDIR: inPod(pod!, "/tmp", true) ?? scratch }, timeoutMs: 60_000 });
            assert.strictEqual(r.code, 0, `${line}: ${describeRun(r)}`);
            outputs.push(r.stdout + r.stderr);
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
