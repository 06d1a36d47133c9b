import type { PolicyConfigSchema, ResourceValidationPolicy } from "@pulumi/policy";
import { arr, at, containersOf, describeContainer, kindOf, message, Obj, podBearing, rec, recs, resolveConfig, str } from "./k8s";
import {
    booleanOption,
    commandLineOptions,
    CredentialFileFormat,
    describesCredential,
    effectiveEnv,
    execHooks,
    expandedCommand,
    findCommandLineCredentials,
    findConfigTextCredentials,
    findValueCredentials,
    Invocation,
    invocations,
    isCredentialName,
    isCredentialProperty,
    isReference,
    isServerGroup,
    isSwitch,
    jaasHasLiteralPassword,
    keysOf,
    keyText,
    knownValues,
    parseOptionFile,
    parseShell,
    PATH_SUFFIX,
    urlCredential,
    withUnknowns,
} from "../reading";

export { findCommandLineCredentials, isCredentialName } from "../reading";

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
            description: "Env var (and ConfigMap key) names exempt from the credential-name check, for names such as TOKEN_TTL that only look like credentials.",
        },
    },
};

/** docker-library images (mariadb, mysql) treat *any* non-empty value of these as "yes". */
const ANY_VALUE_ALLOWS_EMPTY = /^(MARIADB|MYSQL)_ALLOW_EMPTY(_ROOT)?_PASSWORD$/;

/** Variables of the apache/kafka and Confluent images that name a file under /etc/kafka/secrets. */
const KAFKA_IMAGE_CREDENTIAL_FILES = /^KAFKA_SSL_(KEY|KEYSTORE|TRUSTSTORE)_CREDENTIALS$/;

/** What is wrong with the value of a credential-looking name. */
type ValueFinding = "literal" | "empty" | "allows-empty" | "allows-empty-any-value";

/** Judges the value of one credential-looking name; undefined when it is fine. */
function valueFinding(name: string, value: string | undefined): ValueFinding | undefined {
    if (value === undefined) {
        return undefined;
    }
    const upper = name.toUpperCase();
    if (/ALLOW_EMPTY/.test(upper)) {
        if (ANY_VALUE_ALLOWS_EMPTY.test(upper)) {
            return value !== "" ? "allows-empty-any-value" : undefined;
        }
        return isSwitch(value) && !["false", "no", "off"].includes(value.toLowerCase()) ? "allows-empty" : undefined;
    }
    if (PATH_SUFFIX.test(upper) && value.startsWith("/")) {
        return undefined; // e.g. MARIADB_ROOT_PASSWORD_FILE=/etc/mariadb/secrets/root-password
    }
    if (KAFKA_IMAGE_CREDENTIAL_FILES.test(upper) && /^[\w.-]+$/.test(value)) {
        return undefined; // the apache/kafka and cp-kafka images read these files from /etc/kafka/secrets
    }
    if (isSwitch(value) || (value !== "" && isReference(value))) {
        return undefined; // a switch (MARIADB_RANDOM_ROOT_PASSWORD=yes) or a $(VAR) reference
    }
    return value === "" ? "empty" : "literal";
}

/** `<subject> <what is wrong>` for a value finding; `literal` is worded by the caller. */
function describeFinding(subject: string, finding: ValueFinding, literal: string): string {
    switch (finding) {
        case "allows-empty":
            return `${subject} allows an empty password`;
        case "allows-empty-any-value":
            return `${subject} allows an empty password (the image treats any non-empty value as yes)`;
        case "empty":
            return `${subject} has an empty plain value`;
        case "literal":
            return `${subject} ${literal}`;
    }
}

/** Returns the problems with one env entry. */
function envProblems(entry: Obj, allowed: readonly string[]): string[] {
    const name = str(entry.name) ?? "";
    const raw = entry.value;
    const value = typeof raw === "string" ? raw : typeof raw === "number" || typeof raw === "boolean" ? String(raw) : undefined;
    const configMapRef = rec(at(entry, "valueFrom", "configMapKeyRef"));
    const looksCredential = isCredentialName(name) && !describesCredential(name) && !allowed.includes(name);
    const problems: string[] = [];
    if (value !== undefined && urlCredential(value)) {
        problems.push(`env ${name} holds a URL with a literal password`);
    }
    if (looksCredential) {
        if (configMapRef) {
            problems.push(`env ${name} reads a credential from ConfigMap ${str(configMapRef.name) ?? "?"} (ConfigMaps are not secret)`);
        } else {
            const finding = valueFinding(name, value);
            if (finding) {
                problems.push(describeFinding(`env ${name}`, finding, "has a plain value"));
            }
        }
    } else if (value !== undefined && !allowed.includes(name)) {
        // Options passed on in a value: JAVA_OPTS=-Djavax.net.ssl.keyStorePassword=x, EXTRA_ARGS=--requirepass x.
        const flags = findValueCredentials(value).filter((f) => !f.startsWith("a URL"));
        if (flags.length > 0) {
            problems.push(`env ${name} passes a literal credential via ${flags.join(", ")} (value not shown)`);
        }
    }
    return problems;
}

/** Credentials and disabled authentication in the program starts of one command line. */
function invocationFindings(invs: readonly Invocation[]): { flags: string[]; authOff: string[] } {
    const flags: string[] = [];
    const authOff: string[] = [];
    for (const inv of invs) {
        flags.push(...findCommandLineCredentials(inv.argv));
        for (const [name, value] of inv.assignments) {
            if (isCredentialName(name) && !isReference(value) && value !== "" && !isSwitch(value) && !(PATH_SUFFIX.test(name.toUpperCase()) && value.startsWith("/"))) {
                flags.push(`${name}=`);
            }
        }
        for (const doc of inv.heredocs) {
            for (const format of ["mycnf", "properties", "env"] as CredentialFileFormat[]) {
                flags.push(...findConfigTextCredentials(doc, format).map((f) => `a here-document with ${f}`));
            }
        }
        // mariadbd / mysqld options: --skip-grant-tables turns authentication off (the last mention wins).
        const argv = inv.argv[0]?.startsWith("-") ? ["", ...inv.argv] : inv.argv;
        const sgt = booleanOption(commandLineOptions(argv), "skip-grant-tables");
        if (sgt?.on) {
            authOff.push("--skip-grant-tables");
        }
    }
    return { flags: Array.from(new Set(flags)), authOff: Array.from(new Set(authOff)) };
}

/** A ConfigMap key that holds a file, by format; undefined for env-style keys. */
function fileFormat(key: string, text: string): CredentialFileFormat | "script" | "other" | undefined {
    const k = key.toLowerCase();
    if (k.endsWith("jaas.config")) {
        return undefined; // a property (sasl.jaas.config), not a file
    }
    if (/\.(sh|bash)$/.test(k) || text.startsWith("#!")) {
        return "script";
    }
    if (k === ".env" || k.endsWith(".env")) {
        return "env";
    }
    if (/\.(properties|props)$/.test(k)) {
        return "properties";
    }
    if (/\.cnf$/.test(k) || k === "my.ini") {
        return "mycnf";
    }
    if (/\.sql$/.test(k)) {
        return "sql";
    }
    if (/\.jaas$/.test(k) || k.endsWith("jaas.conf")) {
        return "jaas";
    }
    if (/\.(conf|config|cfg|ini|ya?ml|json|xml|toml|txt|acl|pem|crt|key|tpl|template|j2)$/.test(k) || /\n/.test(text)) {
        return "other";
    }
    return undefined;
}

/** Problems with one ConfigMap: credentials in its data, whether consumed as env (envFrom) or as files. */
function configMapProblems(cm: Obj, allowed: readonly string[]): string[] {
    const problems: string[] = [];
    for (const key of keysOf("ConfigMap", cm)) {
        const text = keyText("ConfigMap", cm, key) ?? "";
        const format = fileFormat(key, text);
        if (format === undefined) {
            // An env-style key (envFrom exposes it as a variable, possibly under a prefix, so PASS/PWD/AUTH alone count).
            const bare = ["PASS", "PWD", "AUTH"].includes(key.toUpperCase());
            const looksCredential = !allowed.includes(key) && !describesCredential(key) && (isCredentialName(key) || bare || (key.includes(".") && isCredentialProperty(key)));
            if (looksCredential) {
                if (key.toLowerCase().endsWith("jaas.config")) {
                    if (jaasHasLiteralPassword(text)) {
                        problems.push(`key ${key} has an inline JAAS password`);
                    }
                    continue;
                }
                // An empty value in a ConfigMap leaks nothing; the workload's own env check flags empty passwords.
                const finding = valueFinding(key, text);
                if (finding && finding !== "empty") {
                    problems.push(describeFinding(`key ${key}`, finding, "holds a literal credential"));
                }
                continue;
            }
            if (urlCredential(text)) {
                problems.push(`key ${key} holds a URL with a literal password`);
            } else if (!allowed.includes(key)) {
                const flags = findValueCredentials(text).filter((f) => !f.startsWith("a URL"));
                if (flags.length > 0) {
                    problems.push(`key ${key} passes a literal credential via ${flags.join(", ")}`);
                }
            }
            continue;
        }
        if (format === "script") {
            const invs = parseShell(text).flatMap((cmd) => invocations(cmd.words, {}).map((inv) => ({ ...inv, assignments: [...cmd.assignments, ...inv.assignments], heredocs: [...cmd.heredocs, ...inv.heredocs] })));
            const { flags, authOff } = invocationFindings(invs);
            if (flags.length > 0) {
                problems.push(`script ${key} passes a literal credential via ${flags.join(", ")}`);
            }
            if (authOff.length > 0) {
                problems.push(`script ${key} turns authentication off (${authOff.join(", ")})`);
            }
            continue;
        }
        if (format === "other") {
            const url = text.split(/\r?\n/).some((l) => urlCredential(l) !== undefined);
            if (url) {
                problems.push(`file ${key} holds a URL with a literal password`);
            }
            continue;
        }
        const found = findConfigTextCredentials(text, format);
        if (found.length > 0) {
            problems.push(`file ${key} holds a literal credential (${found.join(", ")})`);
        }
        if (format === "mycnf") {
            const { options } = parseOptionFile(text, key);
            const sgt = booleanOption(
                options.filter((o) => o.group !== undefined && isServerGroup(o.group)),
                "skip-grant-tables",
            );
            if (sgt?.on) {
                problems.push(`file ${key} turns authentication off (skip-grant-tables)`);
            }
        }
    }
    return problems;
}

const FIX =
    "store the credential in a Secret and use env valueFrom.secretKeyRef, or mount the Secret and point a *_FILE variable at it; on command lines reference an env var ($(VAR) or \"$VAR\") instead of the literal";

/**
 * Credentials come only from Secrets: env vars whose names look like credentials use
 * valueFrom.secretKeyRef (or point to a mounted file via *_FILE/_PATH/_DIR/_LOCATION = /abs/path),
 * never a plain `value` or a ConfigMap; options passed in env values (JAVA_OPTS, KAFKA_OPTS) carry no
 * literal passwords; command lines (with `$(VAR)` expanded, `sh -c` scripts read command by command),
 * probes and lifecycle hooks pass none either and do not switch authentication off; ConfigMaps hold no
 * credentials, whether consumed through envFrom (keys that look like credentials, also bare PASS/PWD/AUTH
 * that become credentials under a prefix) or as files (scripts, .env, .properties, my.cnf, SQL, JAAS,
 * URLs). Values are never echoed in messages.
 */
export const noPlaintextCredentials: ResourceValidationPolicy = {
    name: "no-plaintext-credentials",
    description: "Credentials reach containers only from Secrets (secretKeyRef or mounted files), never as plain env values, ConfigMap values or command-line literals.",
    enforcementLevel: "mandatory",
    configSchema,
    validateResource: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const cfg = resolveConfig<NoPlaintextCredentialsConfig>(configSchema, () => args.getConfig());
            const allowed = cfg.allowedEnvNames ?? [];
            if (kindOf(args.type, "ConfigMap")) {
                const cm = rec(args.props);
                const problems = cm ? unknowns.read(() => configMapProblems(cm, allowed), []) : [];
                if (problems.length > 0) {
                    reportViolation(message("configmap", problems, ["move credentials into a Secret (ConfigMaps are readable by anyone who can read the namespace's config) and reference them with secretKeyRef or a mounted Secret file"]));
                }
                return;
            }
            const target = podBearing(args.type, args.props);
            if (!target) {
                return;
            }
            const { podSpec } = target;
            for (const ref of containersOf(podSpec)) {
                unknowns.run(() => {
                    const problems: string[] = [];
                    for (const e of arr(ref.c.env)) {
                        const entry = rec(e);
                        if (entry) {
                            problems.push(...envProblems(entry, allowed));
                        }
                    }
                    const vars = knownValues(effectiveEnv(ref.c, { namespace: "" }));
                    const lines: Array<[string, Invocation[]]> = [["command/args", invocations(expandedCommand(ref.c, vars), { vars })]];
                    for (const hook of execHooks(ref.c)) {
                        lines.push([hook.where, invocations(hook.argv, { vars, via: hook.where })]);
                    }
                    for (const [where, invs] of lines) {
                        const { flags, authOff } = invocationFindings(invs);
                        if (flags.length > 0) {
                            problems.push(`${where} passes a literal credential via ${flags.join(", ")} (value not shown)`);
                        }
                        if (authOff.length > 0) {
                            problems.push(`${where} turns authentication off (${authOff.join(", ")})`);
                        }
                    }
                    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
                        for (const h of recs(at(ref.c, probe, "httpGet", "httpHeaders"))) {
                            const name = str(h.name) ?? "";
                            const value = str(h.value) ?? "";
                            if (/^(authorization|proxy-authorization|x-api-key|x-auth-token|api-key)$/i.test(name) && value.trim() !== "") {
                                problems.push(`${probe} sends a literal ${name} header (value not shown)`);
                            }
                        }
                    }
                    if (problems.length > 0) {
                        reportViolation(message(describeContainer(ref), Array.from(new Set(problems)), [FIX]));
                    }
                });
            }
        }),
};
