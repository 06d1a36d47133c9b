// Stack config of MariaDB (`msa-infra:mariadb`): what can be set, its defaults, and how it is validated.

import { IDENTIFIER, IDENTIFIER_ACCEPTED, Reader } from "../config/reader";
import { readServiceSettings, ServiceSettings } from "../config/service";

export interface MariaDbDatabase {
    /** Database (schema) name. */
    name: string;
    /** Application user that gets ALL PRIVILEGES on that database only. */
    user: string;
}

export interface MariaDbSettings extends ServiceSettings {
    /** Application databases, each with its own user, generated password and Secret. Default none. */
    databases: MariaDbDatabase[];
}

/** The seed's MariaDB: namespace db, mariadb:10.11, one pod, 10Gi. */
export const MARIADB_DEFAULTS: MariaDbSettings = {
    namespace: "db",
    image: "mariadb:10.11",
    replicas: 1,
    storageSize: "10Gi",
    resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    databases: [],
};

/** Users the image or the probes own. */
const RESERVED_USERS = ["root", "healthcheck", "mysql"];

export function readMariaDbSettings(r: Reader, value: unknown): MariaDbSettings {
    const { raw, settings } = readServiceSettings(r, {
        key: "mariadb",
        value,
        defaults: MARIADB_DEFAULTS,
        extraKeys: ["databases"],
        replicas: { max: 1, accepted: "1 (mariadb runs as a single instance; replication is not supported yet)" },
    });
    const databases = r.list("mariadb.databases", raw.databases).map((d, i) => {
        const o = r.object(`mariadb.databases[${i}]`, d, ["name", "user"]);
        return {
            name: r.required(`mariadb.databases[${i}].name`, o.name, IDENTIFIER, IDENTIFIER_ACCEPTED),
            user: r.required(`mariadb.databases[${i}].user`, o.user, IDENTIFIER, IDENTIFIER_ACCEPTED),
        };
    });
    r.unique("mariadb.databases[].name", databases.map((d) => d.name));
    r.unique("mariadb.databases[].user", databases.map((d) => d.user));
    for (const d of databases) {
        if (RESERVED_USERS.includes(d.user)) {
            r.fail("mariadb.databases[].user", d.user, "an application user name other than root, mysql or healthcheck");
        }
    }
    return { ...settings, databases };
}
