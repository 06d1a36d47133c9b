// What the RENDERED stack gives the MariaDB container, as the real-server specs use it: my.cnf and its options
// (read and rewritten), init.sql, the root password, the application accounts, certificates, the init and
// reloader containers. The local server that runs it is LocalMariaDb (mariadb.ts).

import * as assert from "assert";
import * as path from "path";
import { MARIADB_APP, MARIADB_PATHS } from "../../components/mariadb";
import { renderStack, type Manifest } from "../../scripts/lib/mockRuntime";
import { find } from "../../scripts/lib/manifests";
import { podSpec } from "../../scripts/lib/manifests";
import { configMapData, container, envValue, mountedFile, onlyObject, output, persistentMountPath, secretData, type Container } from "../../scripts/lib/rendered";

/** The option-file section mariadbd reads. */
export const SECTION = "mariadbd";

export interface AppAccount {
    user: string;
    password: string;
    database: string;
    secret: string;
}

export interface MariaDbRendered {
    sts: Manifest;
    container: Container;
    myCnf: string;
    myCnfSource: string;
    /** init_file path from my.cnf, and the rendered text mounted there. */
    initPath: string;
    initSql: string;
    initSource: string;
    root: { password: string; source: string };
    apps: AppAccount[];
    /** The certificate files my.cnf names (ssl_cert, ssl_key, ssl_ca), resolved through the mounts; TLS stacks only. */
    tls?: { cert: string; key: string; ca: string; host: string };
    /** The init container that prepares the volume before every start: its command line. */
    prepareVolume?: string[];
    /** The certificate reloader container, when the stack has TLS. */
    reloader?: Container;
    /** The reconcile Job (applies databases, users, passwords to the running primary): its files by mount path. */
    job: RenderedJob;
    /** Probes that run a mounted script (`bash <file>`): the file's rendered text, by its path in the pod. */
    probeScripts: Record<string, string>;
}

/** A rendered Job: its name, its command, and the files it mounts (mount path -> file name -> content). */
export interface RenderedJob {
    name: string;
    command: string[];
    mounts: Record<string, Record<string, string>>;
}

/** The reconcile Job of the render: its command and the content of every ConfigMap/Secret it mounts. */
export function renderedReconcileJob(objects: Manifest[], namespace: string): RenderedJob {
    const jobs = objects.filter((o) => o.kind === "Job" && o.metadata.namespace === namespace && String(o.metadata.name).startsWith(`${MARIADB_APP}-reconcile-`));
    assert.strictEqual(jobs.length, 1, `one mariadb-reconcile Job in ${namespace}, found ${jobs.map((j) => j.metadata.name).join(", ")}`);
    const job = jobs[0];
    const c = container(job, "reconcile");
    const volumes = (podSpec(job).volumes ?? []) as { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
    const mounts: Record<string, Record<string, string>> = {};
    for (const m of c.volumeMounts ?? []) {
        const v = volumes.find((x) => x.name === m.name);
        if (v?.configMap) mounts[m.mountPath] = configMapData(find(objects, "ConfigMap", namespace, v.configMap.name));
        else if (v?.secret) mounts[m.mountPath] = secretData(find(objects, "Secret", namespace, v.secret.secretName));
    }
    return { name: String(job.metadata.name), command: [...(c.command ?? []), ...(c.args ?? [])], mounts };
}

/** Option lines of one section of an option file: [name with '-' as '_', value or undefined for a flag]. */
export function cnfOptions(text: string, section: string): [string, string | undefined][] {
    const out: [string, string | undefined][] = [];
    let current = "";
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
        const header = /^\[(.+)\]$/.exec(line);
        if (header) {
            current = header[1].trim();
            continue;
        }
        if (current !== section) continue;
        const m = /^([^=\s]+)\s*(?:=\s*(.*))?$/.exec(line);
        if (!m) throw new Error(`my.cnf: cannot parse ${JSON.stringify(line)}`);
        out.push([m[1].replace(/-/g, "_").toLowerCase(), m[2]?.trim()]);
    }
    return out;
}

/** An option of the [mariadbd] section, or undefined when the text leaves it to the defaults. */
export function optionalCnfOption(text: string, name: string): string | undefined {
    const found = cnfOptions(text, SECTION).filter(([n]) => n === name);
    return found.length === 1 ? found[0][1] : undefined;
}

export function cnfOption(text: string, name: string): string {
    const found = cnfOptions(text, SECTION).filter(([n]) => n === name);
    if (found.length !== 1 || found[0][1] === undefined) {
        throw new Error(`my.cnf [${SECTION}]: expected one '${name} = ...', found ${found.length}`);
    }
    return found[0][1];
}

/**
 * The rendered option file with options of one section replaced (when the rendered text sets them) or
 * appended to that section (when it leaves them to the image's defaults).
 */
export function rewriteCnf(text: string, section: string, overrides: Record<string, string>): string {
    const norm = (n: string) => n.replace(/-/g, "_").toLowerCase();
    const wanted = new Map(Object.entries(overrides).map(([k, v]) => [norm(k), `${k} = ${v}`]));
    const done = new Set<string>();
    const lines = text.replace(/\n$/, "").split("\n");
    const out: string[] = [];
    let current = "";
    let sectionSeen = false;
    const flush = () => {
        for (const [k, line] of wanted) if (!done.has(k)) out.push(line);
        wanted.forEach((_, k) => done.add(k));
    };
    for (const raw of lines) {
        const header = /^\s*\[(.+)\]\s*$/.exec(raw);
        if (header) {
            if (current === section) flush();
            current = header[1].trim();
            sectionSeen ||= current === section;
            out.push(raw);
            continue;
        }
        const m = /^\s*([^=\s#;]+)/.exec(raw);
        if (current === section && m && wanted.has(norm(m[1]))) {
            out.push(wanted.get(norm(m[1]))!);
            done.add(norm(m[1]));
            continue;
        }
        out.push(raw);
    }
    if (current === section) flush();
    if (!sectionSeen) throw new Error(`my.cnf has no [${section}] section`);
    return out.join("\n") + "\n";
}

/** The `generated` key of a MariaDB password (RenderOptions.generated), e.g. for `user-billing-password`. */
export function mariadbPasswordKey(id: string): string {
    return `random:index/randomPassword:RandomPassword::${MARIADB_APP}-${id}`;
}

/** `generated`: passwords to use instead of the seed's, by mariadbPasswordKey (a rotation of those only). */
export async function loadRendered(stack: string, config?: Record<string, unknown>, seed?: string, generated?: Record<string, string>): Promise<MariaDbRendered> {
    const pinned = generated && new Map(Object.entries(generated).map(([k, v]) => [k, { result: v }]));
    const r = await renderStack(stack, { withSecrets: true, config, seed, generated: pinned });
    const conn = output<{
        namespace: string;
        rootSecret: { name: string; key: string };
        databases: { database: string; user: string; secretName: string }[];
        host: string;
        tls: { enabled: boolean };
    }>(r.outputs, "mariadbConnection");
    const sts = onlyObject(r.objects, "StatefulSet", conn.namespace);
    const c = container(sts, MARIADB_APP);
    const init = (podSpec(sts).initContainers ?? []) as Container[];
    const prepare = init.find((x) => x.name === "prepare-volume");
    const reloader = (podSpec(sts).containers as Container[]).find((x) => x.name === "tls-reloader");
    // The image reads /etc/mysql/conf.d/*.cnf; the program mounts its ConfigMap there.
    const cnf = mountedFile(r.objects, sts, c, path.posix.join(MARIADB_PATHS.config, "my.cnf"));
    const initPath = cnfOption(cnf.value, "init_file");
    const initFile = mountedFile(r.objects, sts, c, initPath);
    // MARIADB_ROOT_PASSWORD_FILE names a file; the entrypoint reads it with $(< file), i.e. minus trailing newlines.
    const rootFile = envValue(r.objects, sts, c, "MARIADB_ROOT_PASSWORD_FILE");
    const root = mountedFile(r.objects, sts, c, rootFile.value);
    assert.strictEqual(root.source, `Secret ${conn.namespace}/${conn.rootSecret.name} key ${conn.rootSecret.key}`, "root password file vs the exported rootSecret");
    const apps = conn.databases.map((d) => {
        const data = secretData(find(r.objects, "Secret", conn.namespace, d.secretName));
        assert.strictEqual(data.username, d.user, `Secret ${d.secretName}: username`);
        assert.strictEqual(data.database, d.database, `Secret ${d.secretName}: database`);
        return { user: data.username, password: data.password, database: data.database, secret: d.secretName };
    });
    assert.strictEqual(persistentMountPath(sts, c), MARIADB_PATHS.data, "the data volume is mounted at the image's datadir");
    const sslFile = (name: string) => mountedFile(r.objects, sts, c, cnfOption(cnf.value, name)).value;
    const tls = conn.tls.enabled ? { cert: sslFile("ssl_cert"), key: sslFile("ssl_key"), ca: sslFile("ssl_ca"), host: conn.host } : undefined;
    const probeScripts: Record<string, string> = {};
    for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
        const command = c[kind]?.exec?.command;
        if (Array.isArray(command) && command[0] === "bash" && command.length === 2) probeScripts[command[1]] = mountedFile(r.objects, sts, c, command[1]).value;
    }
    return {
        tls,
        sts,
        container: c,
        myCnf: cnf.value,
        myCnfSource: cnf.source,
        initPath,
        initSql: initFile.value,
        initSource: initFile.source,
        prepareVolume: prepare ? [...(prepare.command ?? []), ...(prepare.args ?? [])] : undefined,
        reloader,
        probeScripts,
        root: { password: root.value.replace(/\n+$/, ""), source: root.source },
        apps,
        job: renderedReconcileJob(r.objects, conn.namespace),
    };
}
