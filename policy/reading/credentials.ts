// Where credentials hide in what a container is given: credential-looking names, flags and JVM system
// properties on command lines, `NAME=value` assignments, connection URLs with a user:password@ or a
// password= parameter, inline JAAS configurations, and config text (properties, my.cnf, env files, SQL).
// Every function reports *where* a literal is, never the literal itself.

import { basename } from "./objects";
import { splitUnquoted as shellWords } from "./shellRun";

const CREDENTIAL_SUBSTRINGS = ["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY", "ACCESSKEY", "PRIVATEKEY", "CREDENTIAL", "JAASCONFIG", "AUTHORIZATION"];
const CREDENTIAL_SEGMENTS = ["AUTH", "PASS", "PWD"];
/** Names ending like this point at a file, not at the secret itself (when the value is an absolute path). */
export const PATH_SUFFIX = /_(FILE|PATH|DIR|LOCATION)$/;
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

/**
 * Names that describe a credential rather than hold one: the name of the Secret or key that holds it,
 * who or where it authenticates, or how (`DB_SECRET_NAME`, `REDIS_AUTH_USER`, `SASL_AUTH_MECHANISM`).
 */
const DESCRIPTOR_SUFFIX = /_(NAME|KEY_NAME|KEY_REF|REF|MODE|TYPE|ENABLED|ALGORITHM|HOST|PORT|USER|USERNAME|METHOD|MECHANISM|MECHANISMS|PROVIDER|LENGTH|POLICY)$/;

/** True when a credential-looking name only describes a credential (see DESCRIPTOR_SUFFIX). */
export function describesCredential(name: string): boolean {
    return DESCRIPTOR_SUFFIX.test(name.toUpperCase().replace(/[-.]/g, "_"));
}

/** True for an on/off switch value (`yes`, `true`, `off`...). */
export function isSwitch(value: string): boolean {
    return BOOLEAN_WORDS.has(value.toLowerCase());
}

/** A value that Kubernetes or a shell fills in from elsewhere ($(VAR), ${VAR}, $VAR, $(cat f)), or a config provider (${file:...}). */
export function isReference(value: string): boolean {
    return value.includes("$");
}

/**
 * Whether `$` marks a reference in the text being read: true for text some shell or template may still
 * expand (env values, ConfigMap data), false for a program's final arguments (already expanded by the
 * start-up reading, so a `$` left in them is a literal character).
 */
let dollarIsReference = true;

/** Runs `fn` reading final, already expanded words (a `$` in them is a literal). */
export function withExpandedWords<T>(fn: () => T): T {
    const saved = dollarIsReference;
    dollarIsReference = false;
    try {
        return fn();
    } finally {
        dollarIsReference = saved;
    }
}

/** A credential written in the manifests: non-empty, no part from a Secret or unknown, no reference. */
function literal(value: string | undefined): boolean {
    if (value === undefined || value === "" || /[\uE000-\uE005]/.test(value)) {
        return false;
    }
    return !dollarIsReference || !isReference(value);
}

/** Splits a property / option name into lower-case words: `javax.net.ssl.keyStorePassword` -> javax net ssl key store password. */
function nameWords(name: string): string[] {
    return name
        .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter((s) => s !== "");
}

const PROPERTY_CREDENTIAL_WORDS = new Set(["password", "passwd", "passphrase", "secret", "token", "apikey", "credential", "credentials"]);
const PROPERTY_SAFE_LAST_WORDS = new Set(["file", "path", "location", "dir", "type", "algorithm", "enabled", "length", "class", "provider", "mechanism", "mechanisms", "name", "names", "url", "endpoint", "header", "ms", "seconds"]);

/**
 * True when a Java-style property (`ssl.keystore.password`, `javax.net.ssl.keyStorePassword`,
 * `sasl.jaas.config`) holds a credential. Truststore passwords are exempt: a truststore holds public
 * certificates, and its password only guards integrity (`changeit` is the JDK's published default).
 */
export function isCredentialProperty(name: string): boolean {
    const words = nameWords(name);
    if (words.length === 0) {
        return false;
    }
    const joined = words.join(".");
    if (joined.includes("truststore") || joined.includes("trust.store")) {
        return false;
    }
    if (joined.endsWith("jaas.config") || joined.endsWith("keystore.key")) {
        return true; // sasl.jaas.config holds passwords; Kafka's ssl.keystore.key holds the private key itself
    }
    if (PROPERTY_SAFE_LAST_WORDS.has(words[words.length - 1])) {
        return false;
    }
    return words.some((w) => PROPERTY_CREDENTIAL_WORDS.has(w)) || /(api|access|private)\.?key/.test(joined);
}

/** True when a JAAS configuration text gives a literal password (`password="x"`, PlainLoginModule `user_alice="x"`). */
export function jaasHasLiteralPassword(text: string): boolean {
    const re = /\b(password|user_[A-Za-z0-9_.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
        if (literal(m[2] ?? m[3] ?? m[4])) {
            return true;
        }
    }
    return false;
}

/** Why a URL in `value` carries a literal credential (`user:password@` or a password parameter), or undefined. */
export function urlCredential(value: string): string | undefined {
    const re = /[a-z][a-z0-9+.-]*:\/\/([^\s/?#"'<>]*)/gi;
    let m: RegExpExecArray | null;
    while ((m = re.exec(value)) !== null) {
        const authority = m[1];
        const at = authority.lastIndexOf("@");
        if (at > 0) {
            const userinfo = authority.slice(0, at);
            const colon = userinfo.indexOf(":");
            // The password as written: a percent-encoded `%24` is a literal `$`, not a reference.
            if (colon >= 0 && literal(userinfo.slice(colon + 1))) {
                return "a URL with user:password@";
            }
        }
    }
    const param = /(?:^|[?&;])(password|passwd|pwd|pass|secret|token|apikey|api_key|access_token|sslpassword|auth_token)=([^&;#\s"']*)/gi;
    if (/[a-z][a-z0-9+.:-]*:\/\//i.test(value) || /^jdbc:/i.test(value)) {
        while ((m = param.exec(value)) !== null) {
            if (literal(m[2])) {
                return "a URL with a password parameter";
            }
        }
    }
    return undefined;
}

const MYSQL_TOOLS = /^(mysql|mariadb)(admin|dump|check|import|slap|-admin|-dump|-check|-import|-slap|binlog|-binlog|show|-show)?$/;
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

/**
 * Scans the words of one command line for credentials passed as literals: `--requirepass x`,
 * `--password=x`, `-pSECRET` (mysql/mariadb tools), `-a x` (redis-cli), `-u user:pw` (curl/wget),
 * `-Dx.password=y` (JVM system properties), `x.password=y` / `sasl.jaas.config=... password="y"`
 * (property overrides), `PASSWORD=x cmd` and URLs with passwords. Returns the offending flags, never the values.
 */
export function findCommandLineCredentials(words: readonly string[]): string[] {
    const found: string[] = [];
    // `$(redis-cli` or `"mysql` inside a shell script still names the tool.
    const bases = words.map((w) => basename(w.replace(/^[^A-Za-z0-9/._-]+/, "")));
    const mysqlCtx = bases.some((b) => MYSQL_TOOLS.test(b));
    const redisCtx = bases.some((b) => b === "redis-cli" || b === "valkey-cli");
    const curlCtx = bases.some((b) => b === "curl" || b === "wget");
    const sshpassCtx = bases.includes("sshpass");
    const redisServerCtx = bases.some((b) => /^(redis|valkey|keydb)-(server|sentinel)$/.test(b));
    for (let i = 0; i < words.length; i++) {
        const w = words[i];
        const next = words[i + 1];
        // Redis ACL rules (`--user app on >password`, `ACL SETUSER app >password`) and AUTH / CONFIG SET requirepass.
        if ((redisCtx || redisServerCtx) && w.startsWith(">") && literal(w.slice(1))) {
            found.push(">password (a Redis ACL rule)");
            continue;
        }
        if (redisCtx && /^auth$/i.test(w) && literal(words[i + 2] ?? next)) {
            found.push("AUTH (redis-cli)");
            continue;
        }
        if (redisCtx && /^(requirepass|masterauth)$/i.test(w) && words.some((x) => /^config$/i.test(x)) && literal(next)) {
            found.push(`CONFIG SET ${w.toLowerCase()} (redis-cli)`);
            continue;
        }
        const nextValue = next !== undefined && !next.startsWith("-") ? next : undefined;
        const long = /^--?([A-Za-z][A-Za-z0-9_.-]*)(?:=(.*))?$/s.exec(w);
        if (long && w.startsWith("--") && isCredentialFlag(long[1])) {
            const inline = long[2];
            // mysql tools treat a bare --password as "prompt"; the next word is not its value.
            const value = inline !== undefined ? inline : mysqlCtx && /^pass(word)?$/i.test(long[1]) ? undefined : nextValue;
            if (literal(value)) {
                found.push(`--${long[1]}`);
            }
            continue;
        }
        const jvm = /^-D([A-Za-z0-9_.-]+)=(.*)$/s.exec(w);
        if (jvm) {
            if (isCredentialProperty(jvm[1]) && (jvm[1].toLowerCase().endsWith("jaas.config") ? jaasHasLiteralPassword(jvm[2]) : literal(jvm[2]))) {
                found.push(`-D${jvm[1]}`);
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
        if (curlCtx && (w === "-u" || w === "--user" || w.startsWith("--user="))) {
            const v = w.startsWith("--user=") ? w.slice(7) : nextValue;
            const colon = v?.indexOf(":") ?? -1;
            if (v !== undefined && colon >= 0 && literal(v.slice(colon + 1))) {
                found.push(`${w.startsWith("--user") ? "--user" : "-u"} (user:password)`);
            }
            continue;
        }
        if (sshpassCtx && w === "-p" && literal(nextValue)) {
            found.push("-p (sshpass)");
            continue;
        }
        const assign = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(w);
        if (assign && isCredentialName(assign[1]) && literal(assign[2]) && !(PATH_SUFFIX.test(assign[1].toUpperCase()) && assign[2].startsWith("/"))) {
            found.push(`${assign[1]}=`);
            continue;
        }
        const property = /^([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+)=(.*)$/s.exec(w);
        if (property && isCredentialProperty(property[1])) {
            const isJaas = property[1].toLowerCase().endsWith("jaas.config");
            if (isJaas ? jaasHasLiteralPassword(property[2]) : literal(property[2])) {
                found.push(`${property[1]}=`);
            }
            continue;
        }
        const url = urlCredential(w);
        if (url) {
            found.push(url);
        }
    }
    return Array.from(new Set(found));
}

/**
 * Credentials inside one env value that is passed on as options (JAVA_OPTS, KAFKA_OPTS, EXTRA_ARGS...):
 * the value is split into words and scanned like a command line.
 */
export function findValueCredentials(value: string): string[] {
    return findCommandLineCredentials(shellWords(value));
}

/** A config file format this pack reads for credentials. */
export type CredentialFileFormat = "properties" | "mycnf" | "env" | "sql" | "jaas";

/**
 * Literal credentials in config text of the given format, as `<what>` labels:
 * properties (`ssl.keystore.password=x`, inline `sasl.jaas.config`), my.cnf (`password=x` in any
 * section), env files (`DB_PASSWORD=x`), SQL (`IDENTIFIED BY 'x'`), JAAS (`password="x"`).
 */
export function findConfigTextCredentials(text: string, format: CredentialFileFormat): string[] {
    const found: string[] = [];
    const lines = text.split(/\r?\n/);
    switch (format) {
        case "properties":
            for (const line of joinContinuations(lines)) {
                const m = /^\s*([^#!=:\s][^=:\s]*)\s*[=:\s]\s*(.*)$/.exec(line);
                if (!m) {
                    continue;
                }
                const [, key, value] = m;
                if (!isCredentialProperty(key)) {
                    continue;
                }
                if (key.toLowerCase().endsWith("jaas.config") ? jaasHasLiteralPassword(value) : literal(value.trim())) {
                    found.push(`${key}=`);
                }
            }
            break;
        case "mycnf":
            for (const line of lines) {
                const m = /^\s*(?:loose[-_])?(password|passwd|ssl[-_]passphrase|ssl[-_]key[-_]password)\s*=\s*(.*?)\s*$/i.exec(line);
                if (m && literal(m[2].replace(/^(["'])(.*)\1$/, "$2"))) {
                    found.push(`${m[1]}=`);
                }
            }
            break;
        case "env":
            for (const line of lines) {
                const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
                if (!m) {
                    continue;
                }
                const value = m[2].replace(/^(["'])(.*)\1$/, "$2");
                if (isCredentialName(m[1]) && literal(value) && !isSwitch(value) && !(PATH_SUFFIX.test(m[1].toUpperCase()) && value.startsWith("/"))) {
                    found.push(`${m[1]}=`);
                }
            }
            break;
        case "sql":
            if (/IDENTIFIED\s+(?:VIA\s+\S+\s+USING\s+PASSWORD\s*\(\s*|WITH\s+\S+\s+BY\s+|BY\s+)'(?:[^'\\]|\\.)+'/i.test(text) || /SET\s+PASSWORD\b[^;]*=\s*PASSWORD\s*\(\s*'(?:[^'\\]|\\.)+'/i.test(text)) {
                found.push("IDENTIFIED BY '<password>'");
            }
            break;
        case "jaas":
            if (jaasHasLiteralPassword(text)) {
                found.push('password="<password>"');
            }
            break;
    }
    for (const line of lines) {
        const url = urlCredential(line);
        if (url) {
            found.push(url);
        }
    }
    return Array.from(new Set(found));
}

/** Java Properties logical lines: a line ending in an odd number of backslashes continues on the next one. */
export function joinContinuations(lines: readonly string[]): string[] {
    const out: string[] = [];
    let acc: string | undefined;
    for (const raw of lines) {
        const line = acc !== undefined ? acc + raw.replace(/^\s+/, "") : raw;
        const trailing = /(\\+)$/.exec(line)?.[1].length ?? 0;
        if (trailing % 2 === 1 && !/^\s*[#!]/.test(acc === undefined ? raw : "x")) {
            acc = line.slice(0, -1);
            continue;
        }
        acc = undefined;
        out.push(line);
    }
    if (acc !== undefined) {
        out.push(acc);
    }
    return out;
}
