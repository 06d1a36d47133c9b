// Stack config of MariaDB (`msa-infra:mariadb`): what can be set, its defaults, and how it is validated.

import { BackupSettings, CRON_SCHEDULE, onInProduction, readBackupSettings } from "../config/operations";
import type { Environment } from "../config/platform";
import { IDENTIFIER, IDENTIFIER_ACCEPTED, IMAGE, Reader } from "../config/reader";
import { readServiceSettings, ServiceSettings } from "../config/service";
import { QUANTITY } from "../config/units";

export interface MariaDbBackupSettings extends BackupSettings {
    /**
     * Point-in-time recovery: binary logging (ROW format) on the server and a CronJob that archives every
     * closed binary log to its own claim (`mariadb-binlog-archive`), so a restore can stop at any moment
     * between two archived transactions. Default: true in production, false otherwise; always false when
     * backups are off.
     */
    pointInTime: boolean;
    /** Cron schedule of the binary-log archiver: at most this much of the newest changes can be lost. Default every 5 minutes. */
    binlogArchiveSchedule: string;
    /** Size of the binary-log archive claim. Default: the data volume's size. */
    binlogStorageSize: string;
}

export interface MariaDbDatabase {
    /** Database (schema) name. */
    name: string;
    /** Application user that gets ALL PRIVILEGES on that database only. */
    user: string;
}

export interface MariaDbSettings extends ServiceSettings {
    /**
     * Ordinal of the pod that is the primary (takes the writes; the client Service selects only it) when
     * `replicas` > 1; every other pod is a read-only GTID replica of it. Changed only by the promotion
     * procedure (scripts/promote-mariadb.sh). Default 0.
     */
    primary: number;
    /**
     * Semi-synchronous replication: a commit on the primary returns only after a replica has the transaction
     * in its relay log (AFTER_SYNC), or after SEMI_SYNC_TIMEOUT_MS without any replica's acknowledgement,
     * when the primary falls back to asynchronous replication. Needs `replicas` > 1. Default false.
     */
    semiSync: boolean;
    /** Application databases, each with its own user, generated password and Secret. Default none. */
    databases: MariaDbDatabase[];
    /** Scheduled logical backups (mariadb-dump) to the claim `mariadb-backup`, and point-in-time archiving. */
    backup: MariaDbBackupSettings;
    /** Image of the mysqld_exporter sidecar (when `monitoring.exporters`). Default prom/mysqld-exporter:v0.20.0. */
    exporterImage: string;
}

/** The defaults that do not depend on the environment (backups and point-in-time archiving do). */
export type MariaDbDefaults = Omit<MariaDbSettings, "backup"> & { backup: Omit<MariaDbBackupSettings, "enabled" | "pointInTime"> };

/** The seed's MariaDB: namespace db, mariadb:10.11, one pod, 10Gi. */
export const MARIADB_DEFAULTS: MariaDbDefaults = {
    namespace: "db",
    image: "mariadb:10.11",
    replicas: 1,
    storageSize: "10Gi",
    resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    primary: 0,
    semiSync: false,
    databases: [],
    backup: {
        // 02:15 UTC: after midnight batch jobs, before the working day.
        schedule: "15 2 * * *",
        retentionDays: 7,
        storageSize: "10Gi",
        binlogArchiveSchedule: "*/5 * * * *",
        binlogStorageSize: "10Gi",
    },
    exporterImage: "prom/mysqld-exporter:v0.20.0",
};

/** Most MariaDB pods: a primary and four replicas; more replicas add load on the primary's binlog senders, not safety. */
export const MARIADB_MAX_REPLICAS = 5;

/** Users the image, the probes, the backups, the exporter, replication and the reconcile Job own. */
const RESERVED_USERS = ["root", "healthcheck", "mysql", "backup", "exporter", "replication", "reconcile"];
/**
 * Schemas of the server and the reconcile Job's ownership record: an application user with ALL PRIVILEGES on
 * one of them would own the accounts (mysql) or the Job's record (msa_reconcile).
 */
const RESERVED_DATABASES = ["mysql", "sys", "information_schema", "performance_schema", "msa_reconcile"];

export function readMariaDbSettings(r: Reader, value: unknown, environment: Environment): MariaDbSettings {
    const { raw, settings } = readServiceSettings(r, {
        key: "mariadb",
        value,
        defaults: MARIADB_DEFAULTS,
        extraKeys: ["primary", "semiSync", "databases", "backup", "exporterImage"],
        replicas: {
            max: MARIADB_MAX_REPLICAS,
            accepted: `1 (standalone) or 2 to ${MARIADB_MAX_REPLICAS} (a primary and GTID replicas)`,
        },
    });
    const primary = r.integer("mariadb.primary", raw.primary, MARIADB_DEFAULTS.primary, {
        min: 0,
        max: settings.replicas - 1,
        accepted: `the ordinal of an existing pod: 0${settings.replicas > 1 ? ` to ${settings.replicas - 1}` : ""} (mariadb.replicas is ${settings.replicas})`,
    });
    const semiSync = r.boolean("mariadb.semiSync", raw.semiSync, MARIADB_DEFAULTS.semiSync);
    if (semiSync && settings.replicas < 2) {
        r.problem("mariadb.semiSync", "true needs mariadb.replicas of 2 or more: semi-synchronous replication waits for a replica");
    }
    const databases = r.list("mariadb.databases", raw.databases).map((d, i) => {
        const o = r.object(`mariadb.databases[${i}]`, d, ["name", "user"]);
        return {
            name: r.required(`mariadb.databases[${i}].name`, o.name, IDENTIFIER, IDENTIFIER_ACCEPTED),
            user: r.required(`mariadb.databases[${i}].user`, o.user, IDENTIFIER, IDENTIFIER_ACCEPTED),
        };
    });
    // The backup claims default to the data volume's size: a compressed dump and a week of binary logs fit.
    const size = settings.storageSize;
    const { raw: rawBackup, settings: backup } = readBackupSettings(
        r,
        "mariadb.backup",
        raw.backup,
        { ...MARIADB_DEFAULTS.backup, storageSize: size },
        environment,
        ["pointInTime", "binlogArchiveSchedule", "binlogStorageSize"],
    );
    const pointInTime = r.boolean("mariadb.backup.pointInTime", rawBackup.pointInTime, onInProduction(environment));
    const mariadbBackup: MariaDbBackupSettings = {
        ...backup,
        // Archived binary logs are replayed on top of a full backup: without backups there is nothing to archive for.
        pointInTime: backup.enabled && pointInTime,
        binlogArchiveSchedule: r.string(
            "mariadb.backup.binlogArchiveSchedule",
            rawBackup.binlogArchiveSchedule,
            MARIADB_DEFAULTS.backup.binlogArchiveSchedule,
            CRON_SCHEDULE,
            'a cron schedule of five fields, such as "*/5 * * * *"',
        ),
        binlogStorageSize: r.string("mariadb.backup.binlogStorageSize", rawBackup.binlogStorageSize, size, QUANTITY, "a quantity above zero such as 20Gi"),
    };
    if (rawBackup.pointInTime === true && rawBackup.enabled === false) {
        r.problem("mariadb.backup.pointInTime", "true needs mariadb.backup.enabled: a point-in-time restore starts from a full backup");
    }
    r.unique("mariadb.databases[].name", databases.map((d) => d.name));
    r.unique("mariadb.databases[].user", databases.map((d) => d.user));
    for (const d of databases) {
        if (RESERVED_USERS.includes(d.user)) {
            r.fail("mariadb.databases[].user", d.user, `an application user name other than ${RESERVED_USERS.join(", ")}`);
        }
        if (RESERVED_DATABASES.includes(d.name)) {
            r.fail("mariadb.databases[].name", d.name, `an application database name other than ${RESERVED_DATABASES.join(", ")}`);
        }
    }
    return {
        ...settings,
        primary,
        semiSync,
        databases,
        backup: mariadbBackup,
        exporterImage: r.string("mariadb.exporterImage", raw.exporterImage, MARIADB_DEFAULTS.exporterImage, IMAGE, "an image reference with an explicit tag or digest"),
    };
}
