import type { PolicyConfigSchema, StackValidationPolicy } from "@pulumi/policy";
import { at, describeContainer, kindOf, message, Obj, rec, recs, resolveConfig, str } from "./k8s";
import {
    booleanOption,
    ContainerFs,
    CredentialFileFormat,
    describesCredential,
    envToProperty,
    findCommandLineCredentials,
    findConfigTextCredentials,
    findValueCredentials,
    isCredentialName,
    isCredentialProperty,
    isLiteral,
    isReference,
    isServerGroup,
    isSwitch,
    jaasHasLiteralPassword,
    keysOf,
    keyText,
    parseOptionFile,
    PATH_SUFFIX,
    plain,
    readMariaDbServer,
    redactSecrets,
    RunResult,
    serversOf,
    StartupRunner,
    urlCredential,
    withExpandedWords,
    withUnknowns,
} from "../reading";
import { answersFor, cannotVerify, readWholeStack, runs, unknownReasons } from "./verdicts";

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

/** Variables the images and clients this pack knows read as a credential, whatever the name looks like. */
const READ_AS_CREDENTIAL = /^(MARIADB_ROOT_PASSWORD|MARIADB_PASSWORD|MYSQL_ROOT_PASSWORD|MYSQL_PASSWORD|MARIADB_REPLICATION_PASSWORD|MARIADB_MASTER_PASSWORD|MARIADB_ROOT_PASSWORD_HASH|MYSQL_PWD|REDISCLI_AUTH)$/;

/** True when software this pack knows reads the variable as a credential (the Kafka images turn KAFKA_* into properties). */
function readAsCredential(name: string): boolean {
    if (READ_AS_CREDENTIAL.test(name)) {
        return true;
    }
    const key = envToProperty(name, { listenerKeysOnly: false });
    return key !== undefined && isCredentialProperty(key);
}

/** The problems with one variable of a container's effective environment. */
function envVarProblems(v: { name: string; value: string; origin: string; ref?: { kind: string; name: string } }, allowed: readonly string[]): string[] {
    const { name, value, origin } = v;
    if (allowed.includes(name)) {
        return [];
    }
    const problems: string[] = [];
    const literalText = isLiteral(value);
    const fromManifest = origin === "value" || origin === "fieldRef";
    const readAs = readAsCredential(name);
    const looks = isCredentialName(name) && !describesCredential(name);
    if (fromManifest && literalText && urlCredential(value)) {
        problems.push(`env ${name} holds a URL with a literal password`);
    }
    if (readAs || looks) {
        if (origin === "configMapKeyRef") {
            problems.push(`env ${name} reads a credential from ConfigMap ${v.ref?.name ?? "?"} (ConfigMaps are not secret)`);
            return problems;
        }
        if (!fromManifest && origin !== "envFrom") {
            return problems;
        }
        if (origin === "envFrom" && v.ref?.kind === "ConfigMap") {
            return problems; // the ConfigMap itself is reported
        }
        if (!literalText && !/ALLOW_EMPTY/.test(name.toUpperCase())) {
            return problems; // from a Secret, or a runtime value
        }
        const finding = valueFinding(name, plain(value));
        const where = origin === "fieldRef" ? "takes a literal from the pod's metadata (downward API)" : "has a plain value";
        if (finding === "allows-empty" || finding === "allows-empty-any-value") {
            problems.push(describeFinding(`env ${name}`, finding, where));
        } else if (origin === "envFrom") {
            // A Secret's value: fine unless it switches the password off.
        } else if (readAs && plain(value) !== "" && (finding === "literal" || isSwitch(plain(value)) || isReference(plain(value)))) {
            problems.push(`env ${name} ${where} (the software reads it as a credential)`);
        } else if (finding) {
            problems.push(describeFinding(`env ${name}`, finding, where));
        }
        return problems;
    }
    if (fromManifest && literalText) {
        // Options passed on in a value: JAVA_OPTS=-Djavax.net.ssl.keyStorePassword=x, EXTRA_ARGS=--requirepass x.
        const flags = findValueCredentials(value).filter((f) => !f.startsWith("a URL"));
        if (flags.length > 0) {
            problems.push(`env ${name} passes a literal credential via ${flags.join(", ")} (value not shown)`);
        }
    }
    return problems;
}

/** Credentials in what a start-up runs, assigns, feeds on stdin and writes. */
function runFindings(run: RunResult, scope: (via: string) => boolean = () => true): { byVia: Map<string, string[]> } {
    const byVia = new Map<string, string[]>();
    const add = (via: string, f: string) => byVia.set(via, [...(byVia.get(via) ?? []), f]);
    withExpandedWords(() => {
        for (const p of run.procs) {
            if (!scope(p.via)) {
                continue;
            }
            for (const f of findCommandLineCredentials(p.argv.map(redactSecrets))) {
                add(p.via, f);
            }
        }
        for (const a of run.assignments) {
            if (!scope(a.via)) {
                continue;
            }
            const v = redactSecrets(a.value);
            if (isCredentialName(a.name) && !describesCredential(a.name) && isLiteral(v) && v !== "" && !isSwitch(v) && !(PATH_SUFFIX.test(a.name.toUpperCase()) && v.startsWith("/"))) {
                add(a.via, `${a.name}=`);
            }
        }
    });
    const docs = [...run.heredocs.map((h) => ({ text: redactSecrets(h.text), via: h.via })), ...run.writes.map((w) => ({ text: redactSecrets(w.text), via: w.via }))];
    for (const d of docs) {
        if (!scope(d.via)) {
            continue;
        }
        for (const format of ["mycnf", "properties", "env", "sql", "jaas"] as CredentialFileFormat[]) {
            for (const f of findConfigTextCredentials(d.text, format)) {
                add(d.via, `written text with ${f}`);
            }
        }
    }
    return { byVia };
}

/** Reads a script (a ConfigMap key) the way a container would run it, for the credentials in it. */
function scriptFindings(text: string): string[] {
    const runner = new StartupRunner({ fs: new ContainerFs([], undefined, "", true), image: undefined, where: "script" });
    runner.runScriptText(text, "the script", [], new Map(), { maybe: false, via: "script", stdin: undefined, depth: 0, calls: 0 }, "/", "sh");
    const found = runFindings(runner.result);
    return Array.from(new Set(Array.from(found.byVia.values()).flat()));
}

/**
 * How a ConfigMap key may be read: as an env-style value, or as a file in one or more formats. The key's
 * name adds formats (x.cnf is an option file) and so does the content (a `[mysqld]` header, `key=value`
 * lines, a shebang): a name never removes one, since a key is mounted under whatever path the pod chooses.
 */
function formatsOf(key: string, text: string): { script: boolean; formats: Set<CredentialFileFormat>; skipGrantTables: boolean } {
    const k = key.toLowerCase();
    const formats = new Set<CredentialFileFormat>();
    const multiLine = /\n/.test(text.trimEnd());
    let script = /\.(sh|bash)$/.test(k) || text.startsWith("#!");
    if (k === ".env" || k.endsWith(".env")) {
        formats.add("env");
    }
    if (/\.(properties|props)$/.test(k)) {
        formats.add("properties");
    }
    if (/\.cnf$/.test(k) || k === "my.ini") {
        formats.add("mycnf");
    }
    if (/\.sql$/.test(k)) {
        formats.add("sql");
    }
    if (/\.jaas$/.test(k) || k.endsWith("jaas.conf")) {
        formats.add("jaas");
    }
    // Content: the text formats the value looks like, for a value that is a file (more than one line).
    if (multiLine) {
        formats.add("env");
        formats.add("properties");
        if (/^\s*\[[^\]\n]+\]\s*$/m.test(text)) {
            formats.add("mycnf");
        }
        if (/\bIDENTIFIED\b|\bPASSWORD\s*\(/i.test(text)) {
            formats.add("sql");
        }
        if (/LoginModule/.test(text)) {
            formats.add("jaas");
        }
        script = script || /^\s*(set -|exec |export |if \[|for |while |case )/m.test(text);
    }
    const skipGrantTables = /^\s*\[[^\]]+\]/m.test(text) || formats.has("mycnf");
    return { script, formats, skipGrantTables };
}

/** Problems with one ConfigMap: credentials in its data, whether consumed as env (envFrom) or as files. */
function configMapProblems(cm: Obj, allowed: readonly string[]): string[] {
    const problems: string[] = [];
    for (const key of keysOf("ConfigMap", cm)) {
        const text = keyText("ConfigMap", cm, key) ?? "";
        const { script, formats, skipGrantTables } = formatsOf(key, text);
        const singleLine = !/\n/.test(text.trimEnd());
        if (key.toLowerCase().endsWith("jaas.config")) {
            if (jaasHasLiteralPassword(text)) {
                problems.push(`key ${key} has an inline JAAS password`);
            }
            continue;
        }
        if (singleLine) {
            // An env-style key (envFrom exposes it as a variable, possibly under a prefix, so PASS/PWD/AUTH alone count).
            const bare = ["PASS", "PWD", "AUTH"].includes(key.toUpperCase());
            const looksCredential = !allowed.includes(key) && !describesCredential(key) && (isCredentialName(key) || bare || readAsCredential(key) || (key.includes(".") && isCredentialProperty(key)));
            if (looksCredential) {
                // An empty value in a ConfigMap leaks nothing; the workload's own env check flags empty passwords.
                const finding = readAsCredential(key) && text !== "" && !isReference(text) ? "literal" : valueFinding(key, text);
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
        }
        if (script) {
            const flags = scriptFindings(text);
            if (flags.length > 0) {
                problems.push(`script ${key} passes a literal credential via ${flags.join(", ")}`);
            }
        }
        const found = new Set<string>();
        // A script's text is shell, not a config file (`password = %s` is a printf format): the start-up reading
        // above found what it passes and writes.
        for (const format of script ? [] : formats) {
            findConfigTextCredentials(text, format).forEach((f) => found.add(f));
        }
        text.split(/\r?\n/).forEach((l) => {
            const url = urlCredential(l);
            if (url) {
                found.add(url);
            }
        });
        if (found.size > 0) {
            problems.push(`file ${key} holds a literal credential (${Array.from(found).join(", ")})`);
        }
        if (skipGrantTables) {
            const { options } = parseOptionFile(text, key);
            const sgt = booleanOption(
                options.filter((o) => o.group !== undefined && isServerGroup(o.group)),
                "skip-grant-tables",
            );
            if (sgt?.on) {
                problems.push(`file ${key} sets skip-grant-tables in a server group, which turns authentication off for a server that reads it`);
            }
        }
    }
    return Array.from(new Set(problems));
}

const FIX =
    "store the credential in a Secret and use env valueFrom.secretKeyRef, or mount the Secret and point a *_FILE variable at it; on command lines reference an env var ($(VAR) or \"$VAR\") instead of the literal";

const FIX_AUTH = "remove skip-grant-tables and the ALLOW_EMPTY password variables, and give root a password from a Secret (MARIADB_ROOT_PASSWORD from a secretKeyRef, or MARIADB_ROOT_PASSWORD_FILE)";

/**
 * Credentials come only from Secrets, and MariaDB never runs without authentication. ConfigMaps hold no
 * credentials, whether consumed through envFrom (keys that look like credentials, also bare PASS/PWD/AUTH
 * that become credentials under a prefix, and the variables images read as credentials) or as files (by
 * name and by content: scripts, env files, properties, option files, SQL, JAAS, URLs). Every container's
 * effective environment (envFrom and env, $(VAR) expanded, Secrets and ConfigMaps resolved, the downward
 * API's pod metadata read) gives no credential as a literal: not under a credential-looking name, and not
 * under a name the images read as a credential whatever it looks like (MARIADB_ROOT_PASSWORD, MYSQL_PWD,
 * REDISCLI_AUTH, KAFKA_SSL_KEYSTORE_KEY…). What the start-up runs (reading/startup.ts: command lines,
 * scripts, probes, hooks), assigns, feeds on stdin and writes passes no literal credential. Every MariaDB
 * server it starts (reading/mariadb.ts: option files, includes, command line, the image's entrypoint with
 * its env) keeps authentication on: no skip-grant-tables, no root without a password. In a data namespace,
 * what the pack cannot follow is reported as "cannot verify". Values are never echoed in messages.
 *
 * A stack policy: envFrom, Secrets, ConfigMaps and mounted files are other objects.
 */
export const noPlaintextCredentials: StackValidationPolicy = {
    name: "no-plaintext-credentials",
    description: "Credentials reach containers only from Secrets (secretKeyRef or mounted files), never as plain env values, ConfigMap values or command-line literals.",
    enforcementLevel: "mandatory",
    configSchema,
    validateStack: (args, reportViolation) =>
        withUnknowns((unknowns) => {
            const cfg = resolveConfig<NoPlaintextCredentialsConfig>(configSchema, () => args.getConfig());
            const allowed = cfg.allowedEnvNames ?? [];
            for (const r of args.resources) {
                unknowns.run(() => {
                    if (!kindOf(r.type, "ConfigMap")) {
                        return;
                    }
                    const cm = rec(r.props);
                    const problems = cm ? configMapProblems(cm, allowed) : [];
                    if (problems.length > 0) {
                        reportViolation(message("configmap", problems, ["move credentials into a Secret (ConfigMaps are readable by anyone who can read the namespace's config) and reference them with secretKeyRef or a mounted Secret file"]), r.urn);
                    }
                });
            }
            const stack = readWholeStack(args.resources, unknowns);
            for (const [w, pod] of stack.pods) {
                for (const c of pod.containers) {
                    unknowns.run(() => {
                        const problems: string[] = [];
                        for (const v of c.env.vars.values()) {
                            problems.push(...envVarProblems(v, allowed));
                        }
                        for (const [via, flags] of runFindings(c.run).byVia) {
                            problems.push(`${via === "command" ? "command/args" : via} passes a literal credential via ${Array.from(new Set(flags)).join(", ")} (value not shown)`);
                        }
                        for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
                            for (const h of recs(at(c.ref.c, probe, "httpGet", "httpHeaders"))) {
                                const name = str(h.name) ?? "";
                                const value = str(h.value) ?? "";
                                if (/^(authorization|proxy-authorization|x-api-key|x-auth-token|api-key)$/i.test(name) && value.trim() !== "") {
                                    problems.push(`${probe} sends a literal ${name} header (value not shown)`);
                                }
                            }
                        }
                        if (problems.length > 0) {
                            reportViolation(message(describeContainer(c.ref), Array.from(new Set(problems)), [FIX]), w.resource.urn);
                        }
                        if (!runs(w)) {
                            return;
                        }
                        const authOff: string[] = [];
                        const unverifiable: string[] = [];
                        for (const p of serversOf(c, "mariadb")) {
                            const v = readMariaDbServer(p);
                            const where = `${plain(p.argv[0])}${p.via === "command" ? "" : ` started by ${p.via}`}${p.maybe ? " (on some paths of the start-up)" : ""}`;
                            authOff.push(...v.problems.map((x) => `${where}: ${x}`));
                            unverifiable.push(...v.unknowns.map((x) => `${where}: ${x}`));
                        }
                        if (answersFor("mariadb", c, w.namespace, stack)) {
                            unverifiable.push(...unknownReasons(c));
                        }
                        if (authOff.length > 0) {
                            reportViolation(message(`${describeContainer(c.ref)} runs MariaDB without authentication`, Array.from(new Set(authOff)), [FIX_AUTH]), w.resource.urn);
                        }
                        if (unverifiable.length > 0) {
                            reportViolation(cannotVerify(c.ref, "MariaDB keeps authentication on", unverifiable, "mariadb"), w.resource.urn);
                        }
                    });
                }
            }
        }),
};
