// Mock runtime (offline render): runs the real program (index.ts) for a stack file under the Pulumi mock runtime, with no
// Pulumi CLI and no cluster, and returns every Kubernetes object it declares as a plain manifest.
// Generated values (passwords, ids, keys) are filled with real local randomness; anything Pulumi marks as
// secret is redacted unless asked for.

import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { decodeConfigValue, parseStackConfig } from "../../components/stackConfig";

export const ROOT = path.resolve(__dirname, "../..");
export const REDACTED = "<redacted>";

/** A Kubernetes object as it would be applied. */
export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    [field: string]: unknown;
}

/** Resource options as the program requested them. */
export interface ResourceOptionsSeen {
    protect?: boolean;
    deleteBeforeReplace?: boolean;
    replaceOnChanges?: string[];
    /** URN of the parent resource. */
    parent?: string;
    retainOnDelete?: boolean;
}

/** One resource the program registered, with its Pulumi options of interest. */
export interface RegisteredResource {
    /** The URN the mock monitor gave the resource (stack::project::ParentType$Type::name). */
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    inputs: Record<string, unknown>;
    options: ResourceOptionsSeen;
}

export interface RenderOptions {
    /** Fill generated values into rendered Secrets instead of redacting them. Default false. */
    withSecrets?: boolean;
    /** Directory holding Pulumi.yaml and the stack files. Default: the repository root. */
    projectDir?: string;
    /** Stack config to use instead of reading Pulumi.<stack>.yaml (keys without the project prefix). */
    config?: Record<string, unknown>;
    /**
     * Derive generated values (passwords, ids) from this seed and each resource's name instead of the OS's
     * randomness, so two renders can be compared object by object (`npm run diff`). Never apply such a render:
     * its passwords are predictable. Private keys stay random (they only ever appear in redacted Secrets).
     */
    seed?: string;
    /**
     * The outputs of this stack's last deployment, as the program reads them through a StackReference to
     * itself (the immutable-field guard). Default: none, as before a first deployment.
     */
    previousOutputs?: Record<string, unknown>;
    /**
     * Outputs to give generated resources (random, tls) instead of making new values, by `<type>::<name>`:
     * a deployed stack's, from `pulumi stack export --show-secrets`. The render then holds exactly what that
     * stack holds, object by object (the end-to-end test compares it with what `pulumi up` applied).
     */
    generated?: ReadonlyMap<string, Record<string, unknown>>;
    /** Called for each resource as the program registers it (tests: what was declared before a failure). */
    onRegister?: (r: RegisteredResource) => void;
}

export interface RenderResult {
    stack: string;
    project: string;
    /** Kubernetes objects, in registration order. */
    objects: Manifest[];
    /** Every registered resource (Kubernetes, random, tls, components, provider). */
    resources: RegisteredResource[];
    /** Stack outputs; secret values are redacted unless withSecrets. */
    outputs: Record<string, unknown>;
    /** The names of the outputs that are (or hold) secrets. */
    secretOutputs: string[];
    /** Every generated secret value (for leak checks), whether or not it was rendered. */
    generatedSecrets: string[];
    /** What the program logged with pulumi.log.warn (the CLI would show it under the resource); not printed. */
    warnings: string[];
}

/** A problem with the stack file or the command line, reported without a stack trace. */
export class RenderError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RenderError";
    }
}

// Marker the SDK puts on serialized secret values (sdk/nodejs/runtime/rpc.ts).
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a value is, or holds anywhere inside it, a secret. */
function holdsSecret(v: unknown): boolean {
    return isSecretWrapper(v) || (typeof v === "object" && v !== null && Object.values(v).some(holdsSecret));
}

function isSecretWrapper(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Replaces secret-wrapped values by their value (or REDACTED), recursively. */
export function unwrapSecrets(value: unknown, reveal: boolean): unknown {
    if (isSecretWrapper(value)) {
        return reveal ? unwrapSecrets(value.value, reveal) : REDACTED;
    }
    if (Array.isArray(value)) {
        return value.map((v) => unwrapSecrets(v, reveal));
    }
    if (typeof value === "object" && value !== null) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
            if (v !== undefined) {
                out[k] = unwrapSecrets(v, reveal);
            }
        }
        return out;
    }
    return value;
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A source of random bytes. */
export type ByteSource = (n: number) => Buffer;

/**
 * Random bytes for one resource: the OS's, or with a seed an HMAC-SHA256 stream keyed by the seed and the
 * resource, so one resource's values do not move when another resource is added or removed.
 */
export function byteSource(seed: string | undefined, resource: string): ByteSource {
    if (seed === undefined) {
        return (n) => crypto.randomBytes(n);
    }
    let block = 0;
    return (n) => {
        const chunks: Buffer[] = [];
        for (let have = 0; have < n; have += 32) {
            chunks.push(crypto.createHmac("sha256", seed).update(`${resource}#${block++}`).digest());
        }
        return Buffer.concat(chunks).subarray(0, n);
    };
}

/** A random password as @pulumi/random would make it with special=false (rejection sampling: no bias). */
export function randomPassword(length: number, bytes: ByteSource = (n) => crypto.randomBytes(n)): string {
    let out = "";
    while (out.length < length) {
        for (const b of bytes(length * 2)) {
            if (b < 248 && out.length < length) {
                out += ALPHANUMERIC[b % 62];
            }
        }
    }
    return out;
}

/** yaml, loaded on first use: a render whose project and stack files are cached does not parse YAML. */
function yaml(): typeof import("yaml") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("yaml") as typeof import("yaml");
}

const PARSED_CACHE = path.join(process.env.MSA_TS_CACHE_DIR || path.join(ROOT, "node_modules", ".cache", "msa-infra"), "parsed-v1");

/**
 * `read(text)` for a project or stack file's text, cached on disk by the text (and `what`) like the
 * TypeScript transforms (scripts/lib/register.js): parsing the two small YAML files cold costs a render
 * ~40 ms of yaml's parser warming up. Only successful results are cached, so errors are always the
 * parser's own; the cached values are the file's own plain config (encrypted values are refused).
 */
function cachedRead<T>(what: string, text: string, read: (text: string) => T): T {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const version = (require("yaml/package.json") as { version: string }).version;
    const key = crypto.createHash("sha256").update(`${what}\0yaml ${version}\0`).update(text).digest("hex");
    const file = path.join(PARSED_CACHE, `${key}.json`);
    try {
        return (JSON.parse(fs.readFileSync(file, "utf8")) as { value: T }).value;
    } catch {
        // not cached yet (or unreadable: read again)
    }
    const value = read(text);
    try {
        fs.mkdirSync(PARSED_CACHE, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify({ value }));
        fs.renameSync(tmp, file);
    } catch {
        // a read-only checkout still renders, just without the cache
    }
    return value;
}

/** Reads Pulumi.yaml's project name. */
export function readProjectName(projectDir: string): string {
    const file = path.join(projectDir, "Pulumi.yaml");
    const name = cachedRead("project-name", fs.readFileSync(file, "utf8"), (text) => (yaml().parse(text) as { name?: unknown } | null)?.name);
    if (!name) {
        throw new RenderError(`${file}: no project name`);
    }
    return name as string;
}

/**
 * What an encrypted (`secure:`) stack value reads as offline: it cannot be decrypted without the stack's
 * secrets provider. Other providers' keys (a kubeconfig) never reach the objects; renderStack notes them once.
 */
export const SECURE_PLACEHOLDER = "(secure value: not decrypted offline)";

/**
 * Reads Pulumi.<stack>.yaml into the string map the Pulumi CLI hands to a program (objects as JSON).
 * Encrypted (`secure:`) values read as SECURE_PLACEHOLDER.
 */
export function readStackFile(projectDir: string, stack: string): Record<string, string> {
    const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) {
        throw new RenderError(`invalid stack name ${JSON.stringify(stack)}: use letters, digits, '-', '_' or '.'`);
    }
    if (!fs.existsSync(file)) {
        const available = fs
            .readdirSync(projectDir)
            .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
            .map((f) => f.slice("Pulumi.".length, -".yaml".length));
        throw new RenderError(`stack file ${file} not found; available stacks: ${available.join(", ") || "none"}`);
    }
    return cachedRead("stack-file", fs.readFileSync(file, "utf8"), (text) => stackConfig(file, text));
}

/** The string map of a stack file's text (see readStackFile); `file` names it in errors. */
function stackConfig(file: string, text: string): Record<string, string> {
    let doc: unknown;
    try {
        doc = yaml().parse(text);
    } catch (e) {
        throw new RenderError(`${file}: not valid YAML: ${(e as Error).message}`);
    }
    const config = (doc as { config?: unknown } | null)?.config ?? {};
    if (typeof config !== "object" || Array.isArray(config)) {
        throw new RenderError(`${file}: 'config' must be a map of key: value`);
    }
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
        if (!key.includes(":")) {
            throw new RenderError(`${file}: config key ${JSON.stringify(key)} has no namespace; write it as msa-infra:${key}`);
        }
        const secure = typeof value === "object" && value !== null && !Array.isArray(value) && "secure" in value;
        out[key] = secure ? SECURE_PLACEHOLDER : typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

/** The certificate maker, loaded on first use: only stacks with TLS load it. */
function certificates(): typeof import("./certificates") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("./certificates") as typeof import("./certificates");
}

async function generatedState(
    type: string,
    rawInputs: Record<string, unknown>,
    remember: (s: string) => string,
    random: ByteSource,
    previousOutputs: Record<string, unknown> | undefined,
): Promise<Record<string, unknown>> {
    const inputs = rawInputs;
    // Inputs that came from other resources' secret outputs arrive wrapped; certificates need the plain PEM.
    // Unwrapped for the tls resources only: a deep copy of every Kubernetes object's inputs is wasted work.
    const plain = (type.startsWith("tls:") ? unwrapSecrets(rawInputs, true) : rawInputs) as Record<string, any>;
    switch (type) {
        case "pulumi:pulumi:StackReference":
            return { ...inputs, outputs: previousOutputs ?? {}, secretOutputNames: [] };
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: remember(randomPassword(Number(inputs.length) || 32, random)), bcryptHash: "" };
        case "random:index/randomId:RandomId": {
            const bytes = random(Number(inputs.byteLength) || 16);
            return {
                ...inputs,
                b64Url: bytes.toString("base64url"),
                b64Std: bytes.toString("base64"),
                hex: bytes.toString("hex"),
                dec: BigInt("0x" + bytes.toString("hex")).toString(),
            };
        }
        case "tls:index/privateKey:PrivateKey": {
            const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
            return {
                ...inputs,
                privateKeyPem: remember(privateKey.export({ type: "sec1", format: "pem" }).toString()),
                privateKeyPemPkcs8: remember(privateKey.export({ type: "pkcs8", format: "pem" }).toString()),
                publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
            };
        }
        case "tls:index/certRequest:CertRequest": {
            const certs = certificates();
            return { ...inputs, certRequestPem: await certs.certificateRequest({ privateKeyPem: plain.privateKeyPem, subject: plain.subject ?? {}, dnsNames: plain.dnsNames ?? [] }) };
        }
        case "tls:index/selfSignedCert:SelfSignedCert": {
            const certs = certificates();
            return {
                ...inputs,
                ...(await certs.selfSignedCertificate({
                    privateKeyPem: plain.privateKeyPem,
                    subject: plain.subject ?? {},
                    validityPeriodHours: Number(plain.validityPeriodHours),
                    allowedUses: plain.allowedUses ?? [],
                    isCaCertificate: plain.isCaCertificate === true,
                    dnsNames: plain.dnsNames,
                })),
                readyForRenewal: false,
            };
        }
        case "tls:index/locallySignedCert:LocallySignedCert": {
            const certs = certificates();
            return {
                ...inputs,
                ...(await certs.locallySignedCertificate({
                    certRequestPem: plain.certRequestPem,
                    caPrivateKeyPem: plain.caPrivateKeyPem,
                    caCertPem: plain.caCertPem,
                    validityPeriodHours: Number(plain.validityPeriodHours),
                    allowedUses: plain.allowedUses ?? [],
                    isCaCertificate: plain.isCaCertificate === true,
                })),
                readyForRenewal: false,
            };
        }
        default:
            return inputs;
    }
}

/** Kubernetes resource type token → whether it is a Kubernetes object (not the provider, not a component). */
function isKubernetesObject(r: RegisteredResource): boolean {
    return r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:");
}

function toManifest(inputs: Record<string, unknown>, reveal: boolean): Manifest {
    if (inputs.kind === "Secret") {
        // Keep the structure (key names) of a Secret and redact every value unless asked to reveal them.
        const manifest = unwrapSecrets(inputs, true) as Manifest;
        if (!reveal) {
            for (const field of ["stringData", "data"]) {
                const data = manifest[field] as Record<string, unknown> | undefined;
                if (data) {
                    manifest[field] = Object.fromEntries(Object.keys(data).map((k) => [k, REDACTED]));
                }
            }
        }
        return manifest;
    }
    return unwrapSecrets(inputs, reveal) as Manifest;
}

/** Paths of values Pulumi marks secret inside an object that is not a Secret (these should not exist). */
export function secretFieldPaths(value: unknown, at = ""): string[] {
    if (isSecretWrapper(value)) {
        return [at || "."];
    }
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => secretFieldPaths(v, `${at}[${i}]`));
    }
    if (typeof value === "object" && value !== null) {
        return Object.entries(value).flatMap(([k, v]) => secretFieldPaths(v, at ? `${at}.${k}` : k));
    }
    return [];
}

let running = false;

/** Options of the offline runtime itself. */
export interface OfflineRunOptions {
    project: string;
    stack: string;
    /** Config as the Pulumi CLI passes it: fully qualified keys, string values (objects as JSON). */
    config: Record<string, string>;
    /** Reveal secret values. Default false. */
    withSecrets?: boolean;
    /** See RenderOptions.seed. */
    seed?: string;
    /** See RenderOptions.previousOutputs. */
    previousOutputs?: Record<string, unknown>;
    /** See RenderOptions.generated. */
    generated?: ReadonlyMap<string, Record<string, unknown>>;
    /** See RenderOptions.onRegister. */
    onRegister?: (r: RegisteredResource) => void;
}

/**
 * Runs `program` as a Pulumi stack under the mock runtime: resources are recorded instead of created, and
 * generated values come from local randomness. Used for the whole program (renderStack) and, in tests, for
 * single components. Not re-entrant: the Pulumi runtime state is global.
 */
export async function runOffline(program: () => unknown, opts: OfflineRunOptions): Promise<RenderResult> {
    if (running) {
        throw new Error("runOffline is not re-entrant: await one render before starting the next");
    }
    running = true;
    // Every resource constructor captures a full stack trace for the engine's source positions; under ts-node
    // each one goes through source-map translation, which would dominate an offline render. Nobody consumes
    // those positions offline, so use V8's plain formatting while the program runs.
    const prepare = Error.prepareStackTrace;
    const limit = Error.stackTraceLimit;
    delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
    if (!process.env.MSA_RENDER_STACK_TRACES) {
        Error.stackTraceLimit = 0;
    }
    // Without an engine, pulumi.log.warn writes `warning: [runtime] <msg>` to console.warn: kept in the
    // result instead, so the caller decides (the render and diff commands print them, tests assert them).
    const warnings: string[] = [];
    const consoleWarn = console.warn;
    console.warn = (...args: unknown[]) => {
        const m = args.length === 1 && typeof args[0] === "string" ? /^warning: \[runtime\] ([\s\S]*)$/.exec(args[0]) : null;
        if (m) warnings.push(m[1]);
        else consoleWarn(...args);
    };
    try {
        return { ...(await runOnce(program, opts)), warnings };
    } finally {
        console.warn = consoleWarn;
        Error.prepareStackTrace = prepare;
        Error.stackTraceLimit = limit;
        running = false;
    }
}

async function runOnce(program: () => unknown, opts: OfflineRunOptions): Promise<Omit<RenderResult, "warnings">> {
    const reveal = opts.withSecrets ?? false;
    const resources: RegisteredResource[] = [];
    const generatedSecrets: string[] = [];
    const remember = (s: string) => {
        generatedSecrets.push(s);
        return s;
    };
    // Resource options do not reach the mocks' newResource; read them off the registration request.
    const requested = new Map<string, ResourceOptionsSeen>();
    const urns = new Map<string, string>();

    pulumi.runtime.setAllConfig(opts.config);
    await pulumi.runtime.setMocks(
        {
            async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
                const key = `${args.type}::${args.name}`;
                const given = args.custom ? opts.generated?.get(key) : undefined;
                const state = given
                    ? { ...args.inputs, ...given }
                    : await generatedState(args.type, args.inputs, remember, byteSource(opts.seed, key), opts.previousOutputs);
                const registered: RegisteredResource = {
                    urn: urns.get(key) ?? "",
                    type: args.type,
                    name: args.name,
                    custom: args.custom ?? false,
                    inputs: args.inputs,
                    options: requested.get(key) ?? {},
                };
                resources.push(registered);
                opts.onRegister?.(registered);
                return { id: args.custom ? `${args.name}-id` : undefined, state: args.custom ? state : {} };
            },
            call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
                throw new Error(`offline render: no mock for the provider function ${args.token}`);
            },
        },
        opts.project,
        opts.stack,
        false,
        // What a self-managed (file) backend calls every organization.
        "organization",
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        readResource: (req: RegisterRequest, cb: unknown) => unknown;
        registerResource: (req: RegisterRequest, cb: unknown) => unknown;
        registerResourceOutputs: (req: OutputsRequest, cb: unknown) => unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    const read = monitor.readResource.bind(monitor);
    // A read (a StackReference, X.get) registers no options, only its URN.
    monitor.readResource = (req: RegisterRequest, cb: unknown) => {
        urns.set(`${req.getType()}::${req.getName()}`, mockUrn(opts, req));
        return read(req, cb);
    };
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    // The stack's outputs as registered, still carrying their secret markers (the value runInPulumiStack
    // resolves to has lost them).
    let stackOutputs: Record<string, unknown> | undefined;
    monitor.registerResourceOutputs = (req: OutputsRequest, cb: unknown) => {
        if (req.getUrn().includes("::pulumi:pulumi:Stack::")) {
            stackOutputs = req.getOutputs()?.toJavaScript() ?? {};
        }
        return registerOutputs(req, cb);
    };
    monitor.registerResource = (req: RegisterRequest, cb: unknown) => {
        const key = `${req.getType()}::${req.getName()}`;
        requested.set(key, {
            protect: req.getProtect?.() ?? false,
            deleteBeforeReplace: req.getDeletebeforereplace?.() ?? false,
            replaceOnChanges: req.getReplaceonchangesList?.() ?? [],
            parent: req.getParent?.() || undefined,
            retainOnDelete: req.getRetainondelete?.() ?? false,
        });
        urns.set(key, mockUrn(opts, req));
        return register(req, cb);
    };

    let programError: unknown;
    const onRejection = (e: unknown) => {
        programError ??= e;
    };
    process.on("unhandledRejection", onRejection);
    let rawOutputs: Record<string, unknown> | undefined;
    try {
        rawOutputs = (await pulumi.runtime.runInPulumiStack(async () => {
            const result = program();
            return typeof result === "function" ? await result() : await result;
        })) as Record<string, unknown> | undefined;
        await pulumi.runtime.disconnect();
    } catch (e) {
        programError ??= e;
        // A failed stack rejects several internal promises; let them settle before we stop listening.
        await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
        process.off("unhandledRejection", onRejection);
    }
    if (programError) {
        throw programError;
    }

    const objects = resources.filter(isKubernetesObject).map((r) => toManifest(r.inputs, reveal));
    return {
        stack: opts.stack,
        project: opts.project,
        objects,
        resources,
        outputs: unwrapSecrets(stackOutputs ?? rawOutputs ?? {}, reveal) as Record<string, unknown>,
        secretOutputs: Object.entries(stackOutputs ?? rawOutputs ?? {})
            .filter(([, v]) => holdsSecret(v))
            .map(([k]) => k),
        generatedSecrets,
    };
}

interface OutputsRequest {
    getUrn(): string;
    getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined;
}

/** The URN the mock monitor assigns (its newUrn: the parent's own type, `$`, the type). */
function mockUrn(opts: OfflineRunOptions, req: RegisterRequest): string {
    let type = req.getType();
    const parent = req.getParent?.();
    if (parent) {
        type = `${parent.split("::")[2].split("$").pop()}$${type}`;
    }
    return `urn:pulumi:${opts.stack}::${opts.project}::${type}::${req.getName()}`;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getRetainondelete?(): boolean;
    getProtect?(): boolean;
    getDeletebeforereplace?(): boolean;
    getReplaceonchangesList?(): string[];
    getParent?(): string;
}

/**
 * Runs index.ts for `stack` under the mock runtime and returns what it declares. Throws RenderError for a
 * missing or unreadable stack file, and the program's own error (e.g. ConfigError) for invalid config.
 */
export async function renderStack(stack: string, opts: RenderOptions = {}): Promise<RenderResult> {
    const projectDir = opts.projectDir ?? ROOT;
    const project = readProjectName(projectDir);
    const config: Record<string, string> = opts.config
        ? Object.fromEntries(
              Object.entries(opts.config).map(([k, v]) => [`${project}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
          )
        : readStackFile(projectDir, stack);
    const notes = opts.config ? [] : stackFileNotes(config, project, path.join(projectDir, `Pulumi.${stack}.yaml`));
    // Validate first, exactly as the program will: a bad config fails fast, before any runtime starts.
    const prefix = `${project}:`;
    parseStackConfig(
        Object.fromEntries(
            Object.entries(config)
                .filter(([k]) => k.startsWith(prefix))
                .map(([k, v]) => [k.slice(prefix.length), decodeConfigValue(v)]),
        ),
    );
    const entry = path.join(projectDir, "index.ts");
    const result = await runOffline(
        () => {
            // A fresh evaluation per render: the program reads its config at load time.
            delete require.cache[require.resolve(entry)];
            return require(entry);
        },
        { project, stack, config, withSecrets: opts.withSecrets, seed: opts.seed, previousOutputs: opts.previousOutputs, generated: opts.generated, onRegister: opts.onRegister },
    );
    return { ...result, warnings: [...notes, ...result.warnings] };
}

/** Edit distance of two short strings (a misspelled project name is one or two edits away). */
function editDistance(a: string, b: string): number {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const next = [i];
        for (let j = 1; j <= b.length; j++) {
            next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        row = next;
    }
    return row[b.length];
}

/**
 * What a stack file holds that the program would silently not see: a key under a misspelled project name
 * is an error (its settings would fall back to defaults); encrypted values are a note, once.
 */
function stackFileNotes(config: Record<string, string>, project: string, file: string): string[] {
    const keys = Object.keys(config);
    for (const key of keys) {
        const namespace = key.slice(0, key.indexOf(":"));
        if (namespace !== project && editDistance(namespace.toLowerCase(), project.toLowerCase()) <= 2) {
            throw new RenderError(
                `${file}: config key ${JSON.stringify(key)} is under namespace ${JSON.stringify(namespace)}, not the project's ${JSON.stringify(project)}: ` +
                    `the program would never read it. Write it as ${project}:${key.slice(namespace.length + 1)}`,
            );
        }
    }
    const secure = keys.filter((k) => config[k] === SECURE_PLACEHOLDER);
    return secure.length === 0
        ? []
        : [`${file}: ${secure.length} encrypted (secure) value(s) cannot be decrypted offline and render as placeholders: ${secure.join(", ")} (pulumi up uses the real values; a setting of this program that reads one may then be refused by validation, naming its key)`];
}

/** File name of a rendered object inside the output directory: <namespace or _cluster>/<kind>-<name>.yaml. */
export function manifestPath(m: Manifest): string {
    const ns = m.metadata.namespace ?? "_cluster";
    return path.join(ns, `${m.kind.toLowerCase()}-${m.metadata.name}.yaml`);
}

/** Whether the object carries generated secret material when rendered with secrets. */
export function holdsSecrets(m: Manifest): boolean {
    return m.kind === "Secret";
}
