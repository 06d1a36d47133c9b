// Reading a deployed stack of the program back for the end-to-end test (tests/e2e/program.spec.ts): its
// exported state with secrets decoded, the generated values it holds (for a render with exactly those values),
// the Kubernetes objects `pulumi up` applied, the outputs docs/service-teams/stack-outputs.md documents, and object comparisons.

import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import type { Manifest } from "../../scripts/lib/mockRuntime";

/** One resource of `pulumi stack export`. */
export interface StateResource {
    urn: string;
    type: string;
    custom?: boolean;
    protect?: boolean;
    retainOnDelete?: boolean;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** An exported value with `--show-secrets`: secrets ({sig, plaintext: JSON}) replaced by their values. */
export function decodeExported(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(decodeExported);
    }
    if (typeof v === "object" && v !== null) {
        const o = v as Record<string, unknown>;
        if (SIG_KEY in o) {
            if (typeof o.plaintext !== "string") {
                throw new Error("a secret of the export is not in plain text (export with --show-secrets)");
            }
            return decodeExported(JSON.parse(o.plaintext));
        }
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decodeExported(x)]));
    }
    return v;
}

/** The last part of a URN: the resource's name. */
export const nameOfUrn = (urn: string): string => urn.split("::").pop() ?? "";

/** The random and tls resources' outputs, by `<type>::<name>` (RenderOptions.generated). */
export function generatedValues(resources: StateResource[]): Map<string, Record<string, unknown>> {
    return new Map(
        resources
            .filter((r) => /^(random|tls):/.test(r.type))
            .map((r) => [`${r.type}::${nameOfUrn(r.urn)}`, (decodeExported(r.outputs) ?? {}) as Record<string, unknown>]),
    );
}

/** `<Kind> <namespace>/<name>` of an object. */
export const objectKey = (m: { kind: string; metadata: { namespace?: string; name: string } }): string => `${m.kind} ${m.metadata.namespace ?? "-"}/${m.metadata.name}`;

/** Whether a state resource is a Kubernetes object (not the provider). */
export const isKubernetesObject = (r: StateResource): boolean => r.type.startsWith("kubernetes:") && r.custom !== false;

/** The objects `pulumi up` sent to the kubernetes provider (its checked inputs), by objectKey, with their URNs. */
export function appliedObjects(resources: StateResource[]): Map<string, { urn: string; manifest: Manifest }> {
    const out = new Map<string, { urn: string; manifest: Manifest }>();
    for (const r of resources.filter(isKubernetesObject)) {
        const manifest = decodeExported(r.inputs) as Manifest;
        out.set(objectKey(manifest), { urn: r.urn, manifest });
    }
    return out;
}

/**
 * A rendered object as the kubernetes provider's Check passes it on: a Secret's stringData folded into data
 * (base64), JSON-normal (no undefined).
 */
export function asApplied(m: Manifest): Manifest {
    const copy = JSON.parse(JSON.stringify(m)) as Manifest & { stringData?: Record<string, string>; data?: Record<string, string> };
    if (copy.kind === "Secret" && copy.stringData) {
        copy.data = { ...(copy.data ?? {}) };
        for (const [k, v] of Object.entries(copy.stringData)) {
            copy.data[k] = Buffer.from(v, "utf8").toString("base64");
        }
        delete copy.stringData;
    }
    return copy;
}

/** Paths where two JSON values differ (for failure messages). */
export function differences(a: unknown, b: unknown, at = ""): string[] {
    if (isDeepStrictEqual(a, b)) {
        return [];
    }
    if (typeof a === "object" && typeof b === "object" && a !== null && b !== null && Array.isArray(a) === Array.isArray(b)) {
        const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
        return keys.flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${at}[${k}]` : `${at}.${k}`));
    }
    const show = (v: unknown) => (v === undefined ? "(absent)" : JSON.stringify(v).slice(0, 160));
    return [`${at || "."}: ${show(a)} vs ${show(b)}`];
}

/**
 * Paths where what was written is not in the live object (the server adds defaults, never drops or changes
 * what it was given); an empty list or map the server leaves out counts as contained.
 */
export function notContained(wrote: unknown, live: unknown, at = ""): string[] {
    if (live === undefined && wrote !== null && typeof wrote === "object" && Object.keys(wrote).length === 0) {
        return [];
    }
    if (Array.isArray(wrote)) {
        if (!Array.isArray(live) || live.length !== wrote.length) {
            return [`${at}: wrote ${JSON.stringify(wrote).slice(0, 160)}, server has ${JSON.stringify(live)?.slice(0, 160)}`];
        }
        return wrote.flatMap((w, i) => notContained(w, live[i], `${at}[${i}]`));
    }
    if (wrote !== null && typeof wrote === "object") {
        if (live === null || typeof live !== "object") {
            return [`${at}: wrote ${JSON.stringify(wrote).slice(0, 160)}, server has ${JSON.stringify(live)}`];
        }
        return Object.entries(wrote).flatMap(([k, w]) => notContained(w, (live as Record<string, unknown>)[k], `${at}.${k}`));
    }
    return isDeepStrictEqual(wrote, live) ? [] : [`${at}: wrote ${JSON.stringify(wrote)}, server has ${JSON.stringify(live)}`];
}

/** An output the documentation names: its name, whether it is secret, and the fields its row names. */
export interface DocumentedOutput {
    name: string;
    secret: boolean;
    /** Field names the row lists (`host`, `rootSecret`, ...), conditional ones included. */
    fields: string[];
}

/** The page whose "## Stack outputs" table lists every output. */
export const OUTPUTS_PAGE = "docs/service-teams/stack-outputs.md";

/** The outputs table of docs/service-teams/stack-outputs.md ("## Stack outputs"). */
export function documentedOutputs(repoRoot: string): DocumentedOutput[] {
    const page = fs.readFileSync(path.join(repoRoot, OUTPUTS_PAGE), "utf8");
    const section = page.split(/^## Stack outputs$/m)[1]?.split(/^## /m)[0];
    if (!section) {
        throw new Error(`${OUTPUTS_PAGE} has no '## Stack outputs' section`);
    }
    const out: DocumentedOutput[] = [];
    for (const line of section.split("\n")) {
        const m = /^\| (`[^|]+`) \| (.*) \|$/.exec(line);
        if (!m) continue;
        const names = [...m[1].matchAll(/`([A-Za-z]+)`/g)].map((x) => x[1]);
        // Field names: each backticked item's first word; config keys (with a dot) are conditions, not fields.
        const fields = [...m[2].matchAll(/`([^`]+)`/g)].map((x) => x[1].split(/[\s{[]/)[0]).filter((f) => /^[A-Za-z]+$/.test(f));
        for (const name of names) out.push({ name, secret: /\*\*secret\*\*/.test(m[2]), fields });
    }
    return out;
}
