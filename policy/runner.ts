// Policy runner (no Pulumi engine) for the msa-infra-security pack: loads Kubernetes manifests (YAML/JSON), maps them
// to the argument objects the Pulumi CLI's analyzer builds, runs the very same policy objects
// (validateResource / validateStack) and formats a report. Used by scripts/policy.ts (the CLI) and
// by the render command (`evaluate` on what it rendered, with Pulumi.<stack>.policy.json).
//
// Parity with the CLI (node_modules/@pulumi/policy/server.js, pulumi pkg/resource/analyzer/config.go):
// - effective level = config[policy].enforcementLevel || config.all || policy level || pack level;
//   "remediate" counts as mandatory (we never remediate), "disabled" skips the policy;
// - getConfig() returns the schema defaults overridden by the policy's config, minus enforcementLevel;
// - props are wrapped in an unknown-checking proxy that behaves like pulumi-policy's (same
//   UnknownValueError), except that a string read from a manifest file is never an unknown: only values
//   handed to evaluate() programmatically (a simulated preview) are; a file cannot switch checks off;
// - a policy that touches an unknown value yields an advisory "can't run ... during preview".
// YAML is read as kubectl reads it (sigs.k8s.io/yaml on go-yaml v2): YAML 1.1 scalars (yes/no/on/off/y/n
// are booleans, 0755 is octal), `<<` merge keys, a repeated key keeps its last value; unlike plain YAML
// 1.1, base-60 numbers and timestamps stay strings, as go-yaml v2 gives them when decoding untyped.
// Stricter than the CLI on purpose: unknown policy names and unknown knobs in the config are errors
// (the CLI ignores them silently, which hides typos).

import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments, type ParseOptions, type DocumentOptions, type SchemaOptions } from "yaml";
import type {
    EnforcementLevel,
    Policies,
    PolicyPackConfig,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies as packPolicies } from "./policies";
import { namespaceOf, parseType, rec, resolveConfig, typeToken } from "./policies/k8s";

export type { PolicyPackConfig };

/** A manifest that cannot be read or parsed; `file` names the offending input. */
export class ManifestError extends Error {
    constructor(
        readonly file: string,
        detail: string,
    ) {
        super(`${file}: ${detail}`);
        this.name = "ManifestError";
    }
}

/** A policy config file that cannot be read, parsed or validated; `file` names it. */
export class PolicyConfigError extends Error {
    constructor(
        readonly file: string,
        detail: string,
    ) {
        super(`${file}: ${detail}`);
        this.name = "PolicyConfigError";
    }
}

/** One reported violation, as printed by formatReport. */
export interface Violation {
    enforcementLevel: "mandatory" | "advisory";
    policyName: string;
    kind: string;
    /** "" for cluster-scoped objects and for stack findings not tied to a namespace. */
    namespace: string;
    /** "-" for stack findings not tied to one object. */
    name: string;
    message: string;
}

// ---------------------------------------------------------------------------------------------
// Manifests

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

function listDir(dir: string): string[] {
    const out: string[] = [];
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
            out.push(...listDir(full));
        } else if (e.isFile() && MANIFEST_EXTENSIONS.has(path.extname(e.name).toLowerCase())) {
            out.push(full);
        }
    }
    return out;
}

/** Flattens `kind: List` / `*List` objects and checks every object has apiVersion, kind and metadata.name. */
function flatten(doc: unknown, file: string, where: string, out: object[]): void {
    const obj = rec(doc);
    if (!obj) {
        throw new ManifestError(file, `${where} is not a mapping (got ${Array.isArray(doc) ? "a list" : typeof doc})`);
    }
    const kind = obj.kind;
    if (typeof kind === "string" && kind.endsWith("List") && Array.isArray(obj.items)) {
        obj.items.forEach((item, i) => flatten(item, file, `${where} item ${i + 1}`, out));
        return;
    }
    const missing: string[] = [];
    if (typeof obj.apiVersion !== "string" || obj.apiVersion === "") {
        missing.push("apiVersion");
    }
    if (typeof kind !== "string" || kind === "") {
        missing.push("kind");
    }
    const name = rec(obj.metadata)?.name;
    if (typeof name !== "string" || name === "") {
        missing.push("metadata.name");
    }
    if (missing.length > 0) {
        throw new ManifestError(file, `${where} has no ${missing.join(", ")}`);
    }
    out.push(obj);
}

/** go-yaml v2 accepts `0o17` octals too (Go's strconv with base 0); YAML 1.1 proper does not. */
const OCTAL_0O = {
    identify: (v: unknown) => typeof v === "number" && Number.isInteger(v),
    default: true,
    tag: "tag:yaml.org,2002:int",
    format: "OCT",
    test: /^[-+]?0o[0-7_]+$/,
    resolve: (str: string) => (str.startsWith("-") ? -1 : 1) * parseInt(str.replace(/^[-+]?0o/, "").replace(/_/g, ""), 8),
};

/**
 * Parser options that read YAML the way kubectl does (sigs.k8s.io/yaml -> go-yaml v2 -> JSON): the YAML
 * 1.1 schema with merge keys, without base-60 numbers and timestamps (go-yaml v2 has no base-60 and
 * gives untyped timestamps as strings), and with a repeated key keeping its last value.
 */
export const KUBECTL_YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
    version: "1.1",
    merge: true,
    uniqueKeys: false,
    customTags: (tags) => [...tags.filter((t) => !(typeof t === "object" && (t.format === "TIME" || t.tag === "tag:yaml.org,2002:timestamp"))), OCTAL_0O],
};

/** Parses a multi-document YAML text as kubectl reads it (see KUBECTL_YAML_OPTIONS). */
export function parseManifestYaml(text: string): ReturnType<typeof parseAllDocuments> {
    return parseAllDocuments(text, KUBECTL_YAML_OPTIONS);
}

function parseFile(file: string, out: object[]): void {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new ManifestError(file, `cannot read: ${(e as Error).message}`);
    }
    if (path.extname(file).toLowerCase() === ".json") {
        if (text.trim() === "") {
            return;
        }
        let doc: unknown;
        try {
            doc = JSON.parse(text);
        } catch (e) {
            throw new ManifestError(file, `JSON syntax error: ${(e as Error).message}`);
        }
        (Array.isArray(doc) ? doc : [doc]).forEach((d, i) => flatten(d, file, Array.isArray(doc) ? `element ${i + 1}` : "document", out));
        return;
    }
    const docs = parseManifestYaml(text);
    if (!Array.isArray(docs)) {
        return; // an empty stream
    }
    docs.forEach((d, i) => {
        const err = d.errors[0];
        if (err) {
            const pos = err.linePos?.[0];
            const first = err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
            throw new ManifestError(file, `YAML syntax error${pos ? ` at line ${pos.line}, column ${pos.col}` : ""} (document ${i + 1}): ${first}`);
        }
        const js: unknown = d.toJS();
        if (js === null || js === undefined) {
            return; // empty document (`---` with nothing, or only comments)
        }
        (Array.isArray(js) ? js : [js]).forEach((item, j) => flatten(item, file, Array.isArray(js) ? `document ${i + 1} element ${j + 1}` : `document ${i + 1}`, out));
    });
}

/**
 * Loads Kubernetes objects from files and directories (recursively; only .yaml/.yml/.json, sorted
 * by name). Multi-document YAML, `kind: List` / `*List` and JSON arrays are flattened; empty
 * documents are skipped. Throws ManifestError naming the file on any read or parse problem and on
 * objects without apiVersion, kind or metadata.name.
 */
export function loadManifests(paths: string[]): object[] {
    const out: object[] = [];
    for (const p of paths) {
        let stat: fs.Stats;
        try {
            stat = fs.statSync(p);
        } catch (e) {
            throw new ManifestError(p, `cannot read: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`);
        }
        const files = stat.isDirectory() ? listDir(p) : [p];
        for (const f of files) {
            parseFile(f, out);
        }
    }
    out.forEach(recordFileLiterals);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Policy config

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

function isLevel(v: unknown): v is EnforcementLevel {
    return typeof v === "string" && (LEVELS as readonly string[]).includes(v);
}

function describeSchema(s: PolicyConfigJSONSchema, plural = false): string {
    if (s.enum) {
        return `${plural ? "each one of" : "one of"} ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`;
    }
    if (s.type === "array" && s.items && typeof s.items === "object" && !Array.isArray(s.items)) {
        return `${plural ? "arrays" : "an array"} of ${describeSchema(s.items, true)}`;
    }
    const types = s.type === undefined ? ["value"] : Array.isArray(s.type) ? s.type : [s.type];
    const nouns = types.map((t) => (plural ? `${t}s` : `${/^[aeiou]/.test(t) ? "an" : "a"} ${t}`)).join(" or ");
    const range = s.minimum !== undefined && s.maximum !== undefined ? ` between ${s.minimum} and ${s.maximum}` : "";
    return `${nouns}${range}`;
}

function matchesType(v: unknown, t: string): boolean {
    switch (t) {
        case "string":
            return typeof v === "string";
        case "boolean":
            return typeof v === "boolean";
        case "number":
            return typeof v === "number" && Number.isFinite(v);
        case "integer":
            return typeof v === "number" && Number.isInteger(v);
        case "array":
            return Array.isArray(v);
        case "object":
            return rec(v) !== undefined;
        case "null":
            return v === null;
        default:
            return true;
    }
}

/** Hand-checks the JSON Schema keywords our configSchemas use (type, enum, items, minimum, maximum). */
function conforms(v: unknown, s: PolicyConfigJSONSchema): boolean {
    const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
    if (types.length > 0 && !types.some((t) => matchesType(v, t))) {
        return false;
    }
    if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
        return false;
    }
    if (typeof v === "number" && ((s.minimum !== undefined && v < s.minimum) || (s.maximum !== undefined && v > s.maximum))) {
        return false;
    }
    if (Array.isArray(v) && s.items && typeof s.items === "object" && !Array.isArray(s.items)) {
        const item = s.items;
        return v.every((x) => conforms(x, item));
    }
    return true;
}

/**
 * Validates a `--policy-pack-config` object against the pack: known policy names (and "all"),
 * valid enforcement levels, knobs present in the policy's configSchema with values of the right
 * shape. Throws PolicyConfigError naming `source`, the policy, the key and what is accepted.
 */
export function validatePolicyConfig(raw: unknown, source: string, policyList: Policies = packPolicies): PolicyPackConfig {
    const cfg = rec(raw);
    if (!cfg) {
        throw new PolicyConfigError(source, "the policy config must be a JSON object of policy names");
    }
    const byName = new Map(policyList.map((p) => [p.name, p]));
    const levels = LEVELS.join(", ");
    for (const [key, val] of Object.entries(cfg)) {
        if (key === "all") {
            const level = typeof val === "string" ? val : rec(val)?.enforcementLevel;
            if (!isLevel(level)) {
                throw new PolicyConfigError(source, `"all": ${JSON.stringify(val)} is not an enforcement level (accepted: ${levels})`);
            }
            continue;
        }
        const policy = byName.get(key);
        if (!policy) {
            throw new PolicyConfigError(source, `unknown policy "${key}" (policies: ${Array.from(byName.keys()).join(", ")}; or "all")`);
        }
        if (typeof val === "string") {
            if (!isLevel(val)) {
                throw new PolicyConfigError(source, `policy "${key}": ${JSON.stringify(val)} is not an enforcement level (accepted: ${levels})`);
            }
            continue;
        }
        const obj = rec(val);
        if (!obj) {
            throw new PolicyConfigError(source, `policy "${key}": expected an enforcement level string or an object, got ${JSON.stringify(val)}`);
        }
        const props = policy.configSchema?.properties ?? {};
        for (const [k, v] of Object.entries(obj)) {
            if (k === "enforcementLevel") {
                if (!isLevel(v)) {
                    throw new PolicyConfigError(source, `policy "${key}", key "enforcementLevel": ${JSON.stringify(v)} is not accepted (accepted: ${levels})`);
                }
                continue;
            }
            const schema = props[k];
            if (!schema) {
                const accepted = Object.keys(props);
                throw new PolicyConfigError(
                    source,
                    `policy "${key}": unknown key "${k}" (accepted: ${accepted.length > 0 ? [...accepted, "enforcementLevel"].join(", ") : "enforcementLevel only, this policy has no knobs"})`,
                );
            }
            if (!conforms(v, schema)) {
                throw new PolicyConfigError(source, `policy "${key}", key "${k}": expected ${describeSchema(schema)}, got ${JSON.stringify(v)}`);
            }
        }
    }
    return cfg as PolicyPackConfig;
}

/**
 * Loads and validates a policy config file (the CLI's --policy-pack-config format). No file = {}
 * (every policy at its own level, i.e. mandatory). Throws PolicyConfigError naming the file.
 */
export function loadPolicyConfig(file?: string): PolicyPackConfig {
    if (file === undefined) {
        return {};
    }
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new PolicyConfigError(file, `cannot read: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`);
    }
    if (text.trim() === "") {
        return {};
    }
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch (e) {
        throw new PolicyConfigError(file, `JSON syntax error: ${(e as Error).message}`);
    }
    return validatePolicyConfig(raw, file);
}

/** The level a policy runs at under `config` (CLI order), "remediate" folded into "mandatory". */
export function effectiveLevel(policy: { name: string; enforcementLevel?: EnforcementLevel }, config: PolicyPackConfig): "mandatory" | "advisory" | "disabled" {
    const own = config[policy.name];
    const all = config.all;
    const level =
        (typeof own === "string" ? own : own?.enforcementLevel) ||
        (typeof all === "string" ? all : all?.enforcementLevel) ||
        policy.enforcementLevel ||
        (PACK_ENFORCEMENT_LEVEL as EnforcementLevel);
    return level === "remediate" ? "mandatory" : level;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

interface ProxyModule {
    UnknownValueError: new (sentinel: string, props: PropertyKey[]) => Error;
    isSpecialProxy: string;
    getSpecialProxyTarget: string;
    unknownBooleanValue: string;
    unknownNumberValue: string;
    unknownStringValue: string;
    unknownArrayValue: string;
    unknownAssetValue: string;
    unknownArchiveValue: string;
    unknownObjectValue: string;
}

/** pulumi-policy's proxy module (internal, so loaded defensively; no unknowns at all if it moves). */
const proxyModule: ProxyModule | undefined = (() => {
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require("@pulumi/policy/proxy") as ProxyModule;
    } catch {
        return undefined;
    }
})();

/** The strings pulumi-policy treats as "unknown during preview". */
const UNKNOWN_MARKERS: ReadonlySet<unknown> = new Set(
    proxyModule
        ? [
              proxyModule.unknownBooleanValue,
              proxyModule.unknownNumberValue,
              proxyModule.unknownStringValue,
              proxyModule.unknownArrayValue,
              proxyModule.unknownAssetValue,
              proxyModule.unknownArchiveValue,
              proxyModule.unknownObjectValue,
          ]
        : [],
);

/**
 * Places (object, key) where a manifest *file* holds a string equal to an unknown marker. Such a string
 * is data (a hostile or accidental container name, say), not a preview value: the offline runner has no
 * engine, so nothing read from a file can be unknown.
 */
const fileLiterals = new WeakMap<object, Set<string>>();

function recordFileLiterals(v: unknown): void {
    if (typeof v !== "object" || v === null) {
        return;
    }
    for (const [k, x] of Object.entries(v)) {
        if (UNKNOWN_MARKERS.has(x)) {
            const set = fileLiterals.get(v) ?? new Set<string>();
            set.add(k);
            fileLiterals.set(v, set);
        } else {
            recordFileLiterals(x);
        }
    }
}

/** Deep copy of manifest data that carries the file-literal marks over to the copy. */
function copyForPolicies(v: unknown, literals: WeakMap<object, Set<string>>): unknown {
    if (typeof v !== "object" || v === null) {
        return v;
    }
    if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) {
        return structuredClone(v);
    }
    const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
    for (const [k, x] of Object.entries(v)) {
        (out as Record<string, unknown>)[k] = copyForPolicies(x, literals);
    }
    const marks = fileLiterals.get(v);
    if (marks) {
        literals.set(out, new Set(Array.from(marks).filter((k) => (v as Record<string, unknown>)[k] === (out as Record<string, unknown>)[k])));
    }
    return out;
}

/**
 * pulumi-policy's unknownCheckingProxy, reimplemented so that marker strings read from a file are not
 * unknown (see fileLiterals). Reading a real unknown throws pulumi-policy's own UnknownValueError, with
 * the same message, so policies and the CLI see no difference.
 */
function unknownCheckingProxy<T>(target: T, literals: WeakMap<object, Set<string>>, path: PropertyKey[] = []): T {
    if (!proxyModule || !(target instanceof Object)) {
        return target;
    }
    const pm = proxyModule;
    return new Proxy(target as unknown as object, {
        get: (obj, prop) => {
            if (prop === pm.isSpecialProxy) {
                return true;
            } else if (prop === pm.getSpecialProxyTarget) {
                return obj;
            }
            const field = (obj as Record<PropertyKey, unknown>)[prop];
            const props = path.concat([prop]);
            if (UNKNOWN_MARKERS.has(field) && !(typeof prop === "string" && literals.get(obj)?.has(prop))) {
                throw new pm.UnknownValueError(field as string, props);
            }
            // The Proxy invariant for non-configurable, non-writable data properties (see pulumi-policy).
            const desc = Object.getOwnPropertyDescriptor(obj, prop);
            if (desc && "value" in desc && desc.configurable === false && desc.writable === false) {
                return field;
            }
            return unknownCheckingProxy(field, literals, props);
        },
    }) as unknown as T;
}

class NotApplicable extends Error {}

const NO_OPTS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

interface Entry {
    type: string;
    kind: string;
    namespace: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
}

function toEntries(manifests: object[]): Entry[] {
    const flat: object[] = [];
    manifests.forEach((m, i) => flatten(m, "<manifests>", `object ${i + 1}`, flat));
    return flat.map((m) => {
        const obj = m as Record<string, unknown>;
        const kind = obj.kind as string;
        const type = typeToken(obj.apiVersion as string, kind);
        const namespace = namespaceOf(obj, kind);
        const name = rec(obj.metadata)!.name as string;
        const literals = new WeakMap<object, Set<string>>();
        const props = copyForPolicies(obj, literals) as Record<string, unknown>;
        return {
            type,
            kind,
            namespace,
            name,
            urn: `urn:pulumi:offline::manifests::${type}::${namespace}/${name}`,
            props: unknownCheckingProxy(props, literals),
        };
    });
}

function isTypeFn(type: string) {
    return (cls: unknown): boolean => (cls as { __pulumiType?: string } | undefined)?.__pulumiType === type;
}

/**
 * Runs every resource and stack policy of the pack on the manifests, with the config's levels and
 * knobs; disabled policies are skipped. Violations come grouped by object (input order), then
 * namespace-level stack findings.
 */
export async function evaluate(manifests: object[], config: PolicyPackConfig = {}, policyList: Policies = packPolicies): Promise<Violation[]> {
    validatePolicyConfig(config, "policy config", policyList);
    const entries = toEntries(manifests);
    const byUrn = new Map<string, number>();
    entries.forEach((e, i) => {
        if (!byUrn.has(e.urn)) {
            byUrn.set(e.urn, i);
        }
    });
    const found: Array<{ order: number; v: Violation }> = [];
    const stackTags: ReadonlyMap<string, string> = new Map();
    const notApplicable = (reason?: string): never => {
        throw new NotApplicable(reason);
    };

    for (const policy of policyList) {
        const level = effectiveLevel(policy, config);
        if (level === "disabled") {
            continue;
        }
        const getConfig = <T extends object>(): T => resolveConfig<T>(policy.configSchema ?? { properties: {} }, () => {
            const c = config[policy.name];
            return typeof c === "object" && c !== null ? c : {};
        });
        const push = (order: number, v: Omit<Violation, "enforcementLevel" | "policyName">) => {
            found.push({ order, v: { enforcementLevel: level, policyName: policy.name, ...v } });
        };
        const run = async (fn: () => Promise<void> | void, order: number, where: Omit<Violation, "enforcementLevel" | "policyName" | "message">) => {
            try {
                await fn();
            } catch (e) {
                if (e instanceof NotApplicable) {
                    return;
                }
                if (proxyModule && e instanceof proxyModule.UnknownValueError) {
                    found.push({
                        order,
                        v: { enforcementLevel: "advisory", policyName: policy.name, ...where, message: `can't run policy '${policy.name}' from policy pack '${PACK_NAME}' during preview: ${e.message}` },
                    });
                    return;
                }
                throw new Error(`policy ${policy.name} failed on ${where.kind} ${where.namespace}/${where.name}: ${(e as Error).stack ?? e}`);
            }
        };

        if ("validateStack" in policy) {
            const stackPolicy = policy as StackValidationPolicy;
            const resources: PolicyResource[] = entries.map((e) => ({
                type: e.type,
                props: e.props,
                urn: e.urn,
                name: e.name,
                opts: NO_OPTS,
                dependencies: [],
                propertyDependencies: {},
                isType: isTypeFn(e.type) as PolicyResource["isType"],
                asType: ((cls: unknown) => (isTypeFn(e.type)(cls) ? e.props : undefined)) as PolicyResource["asType"],
            }));
            const args: StackValidationArgs = { resources, getConfig, stackTags, notApplicable };
            const report: ReportViolation = (message: string, urn?: string) => {
                const idx = urn === undefined ? undefined : byUrn.get(urn);
                if (idx !== undefined) {
                    const e = entries[idx];
                    push(idx, { kind: e.kind, namespace: e.namespace, name: e.name, message });
                } else if (urn !== undefined) {
                    const [, type = "", nsName = ""] = urn.split("::").slice(2);
                    const slash = nsName.indexOf("/");
                    push(entries.length, { kind: parseType(type)?.kind ?? type, namespace: nsName.slice(0, Math.max(slash, 0)), name: nsName.slice(slash + 1), message });
                } else {
                    // Not tied to one object: namespace from a leading `namespace "<ns>"`, name "-".
                    const ns = /^namespace "([^"]*)"/.exec(message)?.[1];
                    push(entries.length, { kind: ns !== undefined ? "Namespace" : "Stack", namespace: ns ?? "", name: "-", message });
                }
            };
            await run(() => stackPolicy.validateStack(args, report), entries.length, { kind: "Stack", namespace: "", name: "-" });
            continue;
        }

        const resourcePolicy = policy as ResourceValidationPolicy;
        const validations: ResourceValidation[] = Array.isArray(resourcePolicy.validateResource)
            ? resourcePolicy.validateResource
            : resourcePolicy.validateResource
              ? [resourcePolicy.validateResource]
              : [];
        for (const [i, e] of entries.entries()) {
            const args: ResourceValidationArgs = {
                type: e.type,
                props: e.props,
                urn: e.urn,
                name: e.name,
                opts: NO_OPTS,
                stackTags,
                isType: isTypeFn(e.type) as ResourceValidationArgs["isType"],
                asType: ((cls: unknown) => (isTypeFn(e.type)(cls) ? e.props : undefined)) as ResourceValidationArgs["asType"],
                getConfig,
                notApplicable,
            };
            const where = { kind: e.kind, namespace: e.namespace, name: e.name };
            const report: ReportViolation = (message: string) => push(i, { ...where, message });
            for (const validate of validations) {
                await run(() => validate(args, report), i, where);
            }
        }
    }
    // Stable: by object, then policy order, then report order.
    return found
        .map((f, seq) => ({ ...f, seq }))
        .sort((a, b) => a.order - b.order || a.seq - b.seq)
        .map((f) => f.v);
}

/** One line per violation plus a count line, e.g. `3 violations (2 mandatory, 1 advisory)`. */
export function formatReport(violations: readonly Violation[]): string {
    const lines = violations.map((v) => `${v.enforcementLevel} ${v.policyName} ${v.kind} ${v.namespace}/${v.name}: ${v.message.replace(/\s*\n\s*/g, " ")}`);
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
    const n = violations.length;
    lines.push(n === 0 ? "0 violations" : `${n} violation${n === 1 ? "" : "s"} (${mandatory} mandatory, ${n - mandatory} advisory)`);
    return lines.join("\n");
}

/** True when at least one violation is mandatory (the runner then exits 1). */
export function hasMandatory(violations: readonly Violation[]): boolean {
    return violations.some((v) => v.enforcementLevel === "mandatory");
}
