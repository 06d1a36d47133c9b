// Shared helpers for the policy specs (tests/policy/*.spec.ts): the compliant stack and the baseline it
// forms, one-change mutations of it, and assertions on evaluate()'s violations. Policies run through
// policy/runner.ts, i.e. the same validateResource/validateStack functions the CLI calls.

import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { decodeManifestYaml, evaluate, formatReport, loadManifests, PolicyPackConfig, Violation } from "../../policy/runner";

export const ROOT = path.resolve(__dirname, "..", "..");
export const FIXTURES = path.join(ROOT, "tests", "fixtures", "policy");

/** Fixtures are untyped YAML; tests poke into them freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** A fresh copy of the compliant stack (loaded from disk each time, so mutations never leak). */
export function stack(): Json[] {
    return loadManifests([path.join(FIXTURES, "compliant")]) as Json[];
}

/** Objects of one violating fixture file (tests/fixtures/policy/violating/<name>). */
export function fixture(name: string): Json[] {
    return loadManifests([path.join(FIXTURES, "violating", name)]) as Json[];
}

export function obj(objs: Json[], kind: string, name: string, namespace?: string): Json {
    const found = objs.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
    assert.ok(found, `fixture has no ${kind} ${name}`);
    return found;
}

export function podSpec(o: Json): Json {
    return o.kind === "Pod" ? o.spec : o.kind === "PodTemplate" ? o.template.spec : o.kind === "CronJob" ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
}

export function container(o: Json, name?: string): Json {
    const spec = podSpec(o);
    const all = [...(spec.initContainers ?? []), ...spec.containers];
    const c = name === undefined ? spec.containers[0] : all.find((x: Json) => x.name === name);
    assert.ok(c, `no container ${name}`);
    return c;
}

export async function run(objs: Json[], config?: PolicyPackConfig): Promise<Violation[]> {
    return evaluate(objs, config);
}

/** Asserts no violation at all, printing the report otherwise. */
export async function expectClean(objs: Json[], config?: PolicyPackConfig): Promise<void> {
    const vs = await run(objs, config);
    assert.deepStrictEqual(vs, [], formatReport(vs));
}

/** True for a finding that only says the pack cannot verify something (never a claim). */
export function isUnverifiable(v: Violation): boolean {
    return /: cannot verify that /.test(v.message);
}

/**
 * Asserts that violations exist, that every claim comes from `policy` (other policies may only say they cannot
 * verify something, e.g. for an image whose start-up the pack does not know), and that one message contains `text`.
 */
export async function expectOnly(objs: Json[], policy: string, text: string, config?: PolicyPackConfig): Promise<Violation[]> {
    const vs = await run(objs, config);
    assert.ok(vs.length > 0, `expected a ${policy} violation, got none`);
    assert.deepStrictEqual(Array.from(new Set(vs.filter((v) => v.policyName === policy || !isUnverifiable(v)).map((v) => v.policyName))), [policy], formatReport(vs));
    assert.ok(
        vs.some((v) => v.message.includes(text)),
        `no ${policy} message contains ${JSON.stringify(text)}:\n${formatReport(vs)}`,
    );
    return vs;
}

export function ofPolicy(vs: Violation[], policy: string): Violation[] {
    return vs.filter((v) => v.policyName === policy);
}

// ---------------------------------------------------------------------------------------------
// The baseline: one valid stack, and one change at a time

/**
 * The one valid baseline: the compliant stack plus tests/fixtures/policy/baseline (a compliant object
 * of every pod-bearing kind the compliant stack lacks). It passes every policy at the defaults.
 */
export function baseline(): Json[] {
    return loadManifests([path.join(FIXTURES, "compliant"), path.join(FIXTURES, "baseline")]) as Json[];
}

/** The baseline's representative object of each kind, as `Kind namespace/name`. */
export const BASELINE = {
    StatefulSet: "StatefulSet db/mariadb",
    Deployment: "Deployment cache/redis-exporter",
    CronJob: "CronJob db/mariadb-backup",
    Pod: "Pod db/baseline-pod",
    DaemonSet: "DaemonSet db/baseline-daemonset",
    Job: "Job db/baseline-job",
    ReplicaSet: "ReplicaSet db/baseline-replicaset",
    ReplicationController: "ReplicationController db/baseline-rc",
    PodTemplate: "PodTemplate db/baseline-podtemplate",
    Service: "Service db/mariadb",
    NetworkPolicy: "NetworkPolicy db/allow-clients",
    Namespace: "Namespace /db",
    ServiceAccount: "ServiceAccount db/mariadb",
    ConfigMap: "ConfigMap cache/redis-config",
    Secret: "Secret cache/redis-acl",
    PersistentVolumeClaim: "PersistentVolumeClaim db/mariadb-backup",
} as const;

/** The pod-bearing kinds the baseline has one object of. */
export const POD_BEARING_BASELINES = ["StatefulSet", "Deployment", "CronJob", "Pod", "DaemonSet", "Job", "ReplicaSet", "ReplicationController", "PodTemplate"] as const;

/** Finds `Kind namespace/name` in objects. */
export function find(objs: Json[], ref: string): Json {
    const m = /^(\w+) ([^/]*)\/(.+)$/.exec(ref);
    assert.ok(m, `bad object reference ${ref}`);
    const [, kind, ns, name] = m;
    return obj(objs, kind, name, ns === "" ? undefined : ns);
}

/** Sets (or, with `undefined`, removes) the value at a dotted path (`spec.template.spec.containers.0.image`). */
export function setPath(o: Json, dotted: string, value: unknown): void {
    const parts = dotted.split(".");
    let cur = o;
    for (let i = 0; i < parts.length - 1; i++) {
        if (cur[parts[i]] === undefined) {
            cur[parts[i]] = /^\d+$/.test(parts[i + 1]) ? [] : {};
        }
        cur = cur[parts[i]];
    }
    const last = parts[parts.length - 1];
    if (value === undefined) {
        delete cur[last];
    } else {
        cur[last] = value;
    }
}

/** One change to the baseline. */
export interface Change {
    /** The object changed, as `Kind namespace/name` (see BASELINE); with `set` or `edit`. */
    in?: string;
    /** Dotted paths (relative to the object) and their new values; `undefined` removes the field. */
    set?: Record<string, unknown>;
    /** Any other edit of that object. */
    edit?: (o: Json) => void;
    /** Objects added to the baseline, replacing one of the same kind, namespace and name. */
    add?: Json[];
    /** Objects removed from the baseline, as `Kind namespace/name`. */
    remove?: string[];
}

/** The baseline with one change applied. */
export function withChange(change: Change, objs: Json[] = baseline()): Json[] {
    if (change.in) {
        const o = find(objs, change.in);
        for (const [p, v] of Object.entries(change.set ?? {})) {
            setPath(o, p, v);
        }
        change.edit?.(o);
    }
    let out = objs;
    for (const ref of change.remove ?? []) {
        const o = find(out, ref);
        out = out.filter((x) => x !== o);
    }
    const key = (o: Json) => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
    const added = new Set((change.add ?? []).map(key));
    return [...out.filter((o) => !added.has(key(o))), ...(change.add ?? [])];
}

/** Objects of a YAML text, read as the runner (and kubectl) reads YAML. */
export function parseYaml(text: string): Json[] {
    return decodeManifestYaml(text).map((d) => d.value as Json).filter((v) => v !== null);
}

/** pulumi-policy's marker for a string that is unknown during preview. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const UNKNOWN_STRING: string = (require("@pulumi/policy/proxy") as { unknownStringValue: string }).unknownStringValue;

/** The objects of a file (YAML or JSON, as the runner loads it). */
export function load(file: string): Json[] {
    return loadManifests([file]) as Json[];
}

// ---------------------------------------------------------------------------------------------
// The class corpus (tests/fixtures/policy/violating/classes) and the unusual-but-compliant fixtures

export interface CorpusCase {
    file: string;
    /** The policy the manifest breaks (`# policy:`); undefined for compliant fixtures. */
    policy?: string;
    cls: string;
    trick: string;
    config?: PolicyPackConfig;
    /** compliant-unusual and unverifiable: "no violations" or "cannot verify". */
    expect?: string;
}

/** Reads the header comments of every fixture in a corpus directory. */
export function corpus(dir: "violating/classes" | "compliant-unusual" | "unverifiable" | "refused"): CorpusCase[] {
    const full = path.join(FIXTURES, dir);
    return fs
        .readdirSync(full)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => {
            const text = fs.readFileSync(path.join(full, f), "utf8");
            const header = (k: string) => new RegExp(`^# ${k}: (.+)$`, "m").exec(text)?.[1];
            const config = header("config");
            return {
                file: path.join(full, f),
                policy: header("policy"),
                cls: header("class") ?? header("construct") ?? "",
                trick: header("trick") ?? "",
                config: config ? (JSON.parse(config) as PolicyPackConfig) : undefined,
                expect: header("expect"),
            };
        });
}

/** The compliant stack with a corpus file laid over it (same kind/namespace/name replaces). */
export function overlay(file: string): Json[] {
    return withChange({ add: load(file) }, stack());
}

/**
 * One test per class-corpus manifest that names `policy`: laid over the compliant stack, it is caught
 * by that policy, at mandatory level; no other policy makes a claim (the manifest breaks exactly one rule),
 * though another may say it cannot verify something the manifest does.
 */
export function itCatchesClassCorpus(policy: string): void {
    const cases = corpus("violating/classes").filter((c) => c.policy === policy);
    it(`has class-corpus manifests (tests/fixtures/policy/violating/classes) for ${policy}`, () => {
        assert.ok(cases.length > 0);
    });
    for (const c of cases) {
        it(`catches ${path.basename(c.file)} (${c.cls}): ${c.trick}`, async () => {
            const vs = await run(overlay(c.file), c.config);
            assert.ok(vs.some((v) => v.policyName === policy), `${c.file} is not caught by ${policy}:\n${formatReport(vs)}`);
            assert.deepStrictEqual(Array.from(new Set(vs.filter((v) => v.policyName === policy || !isUnverifiable(v)).map((v) => v.policyName))), [policy], formatReport(vs));
            assert.ok(vs.every((v) => v.enforcementLevel === "mandatory"), formatReport(vs));
        });
    }
}

/** Writes `files` (relative path -> text) into a fresh temporary directory, runs `fn` on it, then removes it. */
export function withTempDir<T>(files: Record<string, string>, fn: (dir: string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-runner-"));
    try {
        for (const [name, text] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
            fs.writeFileSync(path.join(dir, name), text);
        }
        return fn(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
