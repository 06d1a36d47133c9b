import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { arr, at, basename, commandWords, containerCommand, containersOf, describeContainer, message, Obj, podBearing, rec, resolveConfig, str } from "./k8s";

export interface NoPlaintextCredentialsConfig {
    /** Env var names that look like credentials but are not (exact, case-sensitive). */
    allowedEnvNames: string[];
}

const configSchema: PolicyConfigSchema = {
    properties: {
        allowedEnvNames: {
            type: "array",
            items: { type: "string" },
            default: [],
            description: "Env var names exempt from the credential-name check, for names such as TOKEN_TTL that only look like credentials.",
        },
    },
};

const CREDENTIAL_SUBSTRINGS = ["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY", "ACCESSKEY", "PRIVATEKEY", "CREDENTIAL", "JAASCONFIG", "AUTHORIZATION"];
const CREDENTIAL_SEGMENTS = ["AUTH", "PASS", "PWD"];
const PATH_SUFFIX = /_(FILE|PATH|DIR|LOCATION)$/;
const BOOLEAN_WORDS = new Set(["true", "false", "yes", "no", "on", "off"]);

/** True when an env var (or shell variable) name looks like it carries a credential. */
export function isCredentialName(name: string): boolean {
    const upper = name.toUpperCase().replace(/[-.]/g, "_");
    const compact = upper.replace(/_/g, "");
    if (CREDENTIAL_SUBSTRINGS.some((s) => compact.includes(s))) {
        return true;
    }
    const segments = upper.split("_").filter((s) => s !== "");
    return segments.length > 1 && segments.some((s) => CREDENTIAL_SEGMENTS.includes(s));
}

/** A value that Kubernetes or a shell fills in from elsewhere ($(VAR), ${VAR}, $VAR, $(cat f)). */
function isReference(value: string): boolean {
    return value.includes("$");
}

const URL_CREDENTIAL = /[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:([^\s@/]+)@/i;

/** True when a URL in `value` embeds a literal password (`redis://:pw@host`). */
function urlHasLiteralPassword(value: string): boolean {
    const m = URL_CREDENTIAL.exec(value);
    return m !== null && !isReference(m[1]);
}

const MYSQL_TOOLS = /^(mysql|mariadb)(admin|dump|check|import|slap|-admin|-dump|-check|-import|-slap)?$/;
const FLAG_CREDENTIAL_SEGMENTS = new Set(["password", "passwd", "pass", "pwd", "secret", "token", "apikey", "requirepass", "masterauth", "credential", "credentials"]);
const FLAG_SAFE_LAST_SEGMENTS = new Set(["file", "path", "dir", "env", "from", "stdin", "prompt", "command", "cmd", "length", "enabled"]);

function isCredentialFlag(flagName: string): boolean {
    const segs = flagName.toLowerCase().split(/[-_.]/).filter((s) => s !== "");
    if (segs.length === 0 || segs[0] === "no" || FLAG_SAFE_LAST_SEGMENTS.has(segs[segs.length - 1])) {
        return false;
    }
    const joined = segs.join("-");
    return segs.some((s) => FLAG_CREDENTIAL_SEGMENTS.has(s)) || /(api|access|private)-key/.test(joined);
}

function literal(value: string | undefined): boolean {
    return value !== undefined && value !== "" && !isReference(value);
}

/**
 * Scans a command line for credentials passed as literals: `--requirepass x`, `--password=x`,
 * `-pSECRET` (mysql/mariadb tools), `-a x` (redis-cli), `PASSWORD=x cmd` and `scheme://u:pw@host`.
 * Returns the offending flags (never the values).
 */
export function findCommandLineCredentials(words: readonly string[]): string[] {
    const found: string[] = [];
    // `$(redis-cli` or `"mysql` inside a shell script still names the tool.
    const bases = words.map((w) => basename(w.replace(/^[^A-Za-z0-9/._-]+/, "")));
    const mysqlCtx = bases.some((b) => MYSQL_TOOLS.test(b));
    const redisCtx = bases.includes("redis-cli");
    for (let i = 0; i < words.length; i++) {
        const w = words[i];
        const next = words[i + 1];
        const nextValue = next !== undefined && !next.startsWith("-") ? next : undefined;
        const long = /^--?([A-Za-z][A-Za-z0-9_.-]*)(?:=(.*))?$/.exec(w);
        if (long && w.startsWith("--") && isCredentialFlag(long[1])) {
            const inline = long[2];
            // mysql tools treat a bare --password as "prompt"; the next word is not its value.
            const value = inline !== undefined ? inline : mysqlCtx && /^pass(word)?$/i.test(long[1]) ? undefined : nextValue;
            if (literal(value)) {
                found.push(`--${long[1]}`);
            }
            continue;
        }
        if (mysqlCtx && /^-p.+/.test(w) && literal(w.slice(2))) {
            found.push("-p<password>");
            continue;
        }
        if (redisCtx && w === "-a" && literal(nextValue)) {
            found.push("-a (redis-cli)");
            continue;
        }
        const assign = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(w);
        if (assign && isCredentialName(assign[1]) && literal(assign[2]) && !(PATH_SUFFIX.test(assign[1].toUpperCase()) && assign[2].startsWith("/"))) {
            found.push(`${assign[1]}=`);
            continue;
        }
        if (urlHasLiteralPassword(w)) {
            found.push("a URL with user:password@");
        }
    }
    return Array.from(new Set(found));
}

/** Returns the problem with one env entry, or undefined when it is fine. */
function envProblem(entry: Obj, allowed: readonly string[]): string | undefined {
    const name = str(entry.name) ?? "";
    const value = entry.value;
    const configMapRef = rec(at(entry, "valueFrom", "configMapKeyRef"));
    const looksCredential = isCredentialName(name) && !allowed.includes(name);
    if (typeof value === "string" && urlHasLiteralPassword(value)) {
        return `env ${name} holds a URL with a literal password`;
    }
    if (!looksCredential) {
        return undefined;
    }
    if (configMapRef) {
        return `env ${name} reads a credential from ConfigMap ${str(configMapRef.name) ?? "?"} (ConfigMaps are not secret)`;
    }
    if (value === undefined || value === null) {
        return undefined;
    }
    const v = String(value);
    if (/ALLOW_EMPTY/.test(name.toUpperCase())) {
        return BOOLEAN_WORDS.has(v.toLowerCase()) && !["false", "no", "off"].includes(v.toLowerCase()) ? `env ${name} allows an empty password` : undefined;
    }
    if (PATH_SUFFIX.test(name.toUpperCase()) && v.startsWith("/")) {
        return undefined; // e.g. MARIADB_ROOT_PASSWORD_FILE=/etc/mariadb/secrets/root-password
    }
    if (BOOLEAN_WORDS.has(v.toLowerCase()) || (v !== "" && isReference(v))) {
        return undefined; // a switch (MARIADB_RANDOM_ROOT_PASSWORD=yes) or a $(VAR) reference
    }
    return v === "" ? `env ${name} has an empty plain value` : `env ${name} has a plain value`;
}

const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"];

/**
 * Credentials come only from Secrets: env vars whose names look like credentials use
 * valueFrom.secretKeyRef (or point to a mounted file via *_FILE/_PATH/_DIR/_LOCATION = /abs/path),
 * never a plain `value` or a ConfigMap; command lines, probes and lifecycle hooks pass no literal
 * passwords. Values are never echoed in messages.
 */
export const noPlaintextCredentials: ResourceValidationPolicy = {
    name: "no-plaintext-credentials",
    description: "Credentials reach containers only from Secrets (secretKeyRef or mounted files), never as plain env values, ConfigMap values or command-line literals.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: (args, reportViolation) => {
        const target = podBearing(args.type, args.props);
        if (!target) {
            return;
        }
        const { podSpec } = target;
        const cfg = resolveConfig<NoPlaintextCredentialsConfig>(configSchema, () => args.getConfig());
        for (const ref of containersOf(podSpec)) {
            const problems: string[] = [];
            for (const e of arr(ref.c.env)) {
                const entry = rec(e);
                const p = entry ? envProblem(entry, cfg.allowedEnvNames ?? []) : undefined;
                if (p) {
                    problems.push(p);
                }
            }
            const lines: Array<[string, string[]]> = [["command/args", containerCommand(ref.c)]];
            for (const probe of PROBES) {
                lines.push([probe, commandWords(arr(at(ref.c, probe, "exec", "command")))]);
            }
            for (const hook of ["postStart", "preStop"]) {
                lines.push([`lifecycle.${hook}`, commandWords(arr(at(ref.c, "lifecycle", hook, "exec", "command")))]);
            }
            for (const [where, words] of lines) {
                const flags = findCommandLineCredentials(words);
                if (flags.length > 0) {
                    problems.push(`${where} passes a literal credential via ${flags.join(", ")} (value not shown)`);
                }
            }
            if (problems.length > 0) {
                reportViolation(
                    message(describeContainer(ref), problems, [
                        "store the credential in a Secret and use env valueFrom.secretKeyRef, or mount the Secret and point a *_FILE variable at it; on command lines reference an env var ($(VAR) or \"$VAR\") instead of the literal",
                    ]),
                );
            }
        }
    },
};
