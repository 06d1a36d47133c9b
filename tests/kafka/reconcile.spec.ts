// The reconcile Job's script (components/kafka/reconcile.ts) run with bash against stand-ins for Kafka's
// admin tools: they print what the cluster has, in the tools' own listing formats, and record every change
// the script asks for. Proves which ACLs and topics the script considers its own and the order of its
// changes. (tests/servers/kafka/3-access.spec.ts runs the same script against real Kafka.)

import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { RECONCILE_SCRIPT, reconcileFiles } from "../../components/kafka";
import { makeTempDir, removeTempDir, run } from "../../scripts/lib/servers";

/** What the stand-in tools list: `kafka-topics.sh --describe` and `kafka-acls.sh --list` output. */
interface Cluster {
    topics: { name: string; partitions: number; rf: number }[];
    acls: { resource: string; principal: string; host: string; operation: string; permission: string }[];
}

function topicsListing(c: Cluster): string {
    return c.topics.map((t) => `Topic: ${t.name}\tTopicId: x\tPartitionCount: ${t.partitions}\tReplicationFactor: ${t.rf}\tConfigs: \n`).join("");
}

function aclListing(c: Cluster): string {
    const byResource = new Map<string, Cluster["acls"]>();
    for (const a of c.acls) byResource.set(a.resource, [...(byResource.get(a.resource) ?? []), a]);
    return [...byResource]
        .map(([resource, acls]) => {
            const [type, pattern, name] = resource.split(" ");
            const lines = acls.map((a) => `\t(principal=${a.principal}, host=${a.host}, operation=${a.operation}, permissionType=${a.permission})`);
            return `Current ACLs for resource \`ResourcePattern(resourceType=${type}, name=${name}, patternType=${pattern})\`: \n${lines.join("\n")} \n\n`;
        })
        .join("");
}

/** Runs the script; returns the changes it asked the tools for, in order. */
async function reconcile(cluster: Cluster, files: Record<string, string>): Promise<{ code: number | null; calls: string[]; stdout: string }> {
    const dir = makeTempDir("kafka-reconcile");
    try {
        const spec = path.join(dir, "spec");
        const bin = path.join(dir, "bin");
        fs.mkdirSync(spec);
        fs.mkdirSync(bin);
        for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(spec, name), text);
        fs.writeFileSync(path.join(dir, "topics.txt"), topicsListing(cluster));
        fs.writeFileSync(path.join(dir, "acls.txt"), aclListing(cluster));
        const log = path.join(dir, "calls.log");
        // Each stand-in prints the listing for a read and records anything else it is asked to do.
        const tool = (name: string, read: string, listing: string) =>
            fs.writeFileSync(
                path.join(bin, name),
                `#!/bin/bash\nfor a in "$@"; do if [ "$a" = "${read}" ]; then cat ${listing}; exit 0; fi; done\necho "${name} $*" | sed 's/--bootstrap-server [^ ]* --command-config [^ ]* //' >> ${log}\n`,
                { mode: 0o755 },
            );
        tool("kafka-topics.sh", "--describe", path.join(dir, "topics.txt"));
        tool("kafka-configs.sh", "--describe", "/dev/null");
        tool("kafka-acls.sh", "--list", path.join(dir, "acls.txt"));
        const script = RECONCILE_SCRIPT.replace("bin=/opt/kafka/bin", `bin=${bin}`).replace("work=/tmp/reconcile", `work=${path.join(dir, "work")}`);
        assert.ok(script.includes(`bin=${bin}`) && script.includes(path.join(dir, "work")), "the script's tool and work paths were replaced");
        fs.writeFileSync(path.join(spec, "reconcile.sh"), script);
        const res = await run("bash", [path.join(spec, "reconcile.sh")], { env: { PATH: process.env.PATH }, timeoutMs: 30_000 });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
        return { code: res.code, calls, stdout: res.stdout + res.stderr };
    } finally {
        removeTempDir(dir);
    }
}

describe("Kafka reconcile script (bash, stand-in admin tools)", () => {
    const files = reconcileFiles({
        namespace: "messaging",
        tls: false,
        clientAuth: "none",
        topics: [{ name: "orders", partitions: 3, replicationFactor: 1, configs: {} }],
        users: [{ name: "shop", topics: [{ name: "orders", pattern: "literal", access: ["write"] }], groups: [] }],
        deleteUndeclaredTopics: true,
    });

    it("removes only ACLs of the shape it writes; an operator's DENY, User:*, another host and another operation stay; adds before it removes", async () => {
        const r = await reconcile(
            {
                topics: [{ name: "orders", partitions: 3, rf: 1 }],
                acls: [
                    // A grant this program wrote for a user no longer declared: removed.
                    { resource: "TOPIC LITERAL orders", principal: "User:gone", host: "*", operation: "WRITE", permission: "ALLOW" },
                    // An operator's emergency DENY, a wildcard grant, a host-limited grant, a DESCRIBE grant: kept.
                    { resource: "TOPIC LITERAL orders", principal: "User:mallory", host: "*", operation: "READ", permission: "DENY" },
                    { resource: "TOPIC LITERAL orders", principal: "User:*", host: "*", operation: "READ", permission: "ALLOW" },
                    { resource: "TOPIC LITERAL orders", principal: "User:audit", host: "10.1.2.3", operation: "READ", permission: "ALLOW" },
                    { resource: "TOPIC LITERAL orders", principal: "User:audit", host: "*", operation: "DESCRIBE", permission: "ALLOW" },
                    { resource: "CLUSTER LITERAL kafka-cluster", principal: "User:ops", host: "*", operation: "ALTER", permission: "ALLOW" },
                ],
            },
            files,
        );
        assert.strictEqual(r.code, 0, r.stdout);
        const acl = r.calls.filter((c) => c.startsWith("kafka-acls.sh"));
        assert.deepStrictEqual(acl, [
            "kafka-acls.sh --add --resource-pattern-type literal --allow-principal User:shop --allow-host * --operation WRITE --topic orders",
            "kafka-acls.sh --remove --resource-pattern-type literal --allow-principal User:gone --allow-host * --operation WRITE --topic orders --force",
        ]);
    });

    it("deleteUndeclaredTopics deletes an undeclared topic but never another tool's internal topics", async () => {
        const internal = ["_schemas", "_confluent-license", "shop-app-store-changelog", "shop-app-KSTREAM-repartition", "connect-configs", "connect-offsets", "connect-status", "mm2-offset-syncs.east.internal", "east.checkpoints.internal", "heartbeats"];
        const r = await reconcile({ topics: [{ name: "orders", partitions: 3, rf: 1 }, { name: "stale", partitions: 1, rf: 1 }, ...internal.map((name) => ({ name, partitions: 1, rf: 1 }))], acls: [] }, files);
        assert.strictEqual(r.code, 0, r.stdout);
        const deleted = r.calls.filter((c) => c.includes("--delete"));
        assert.deepStrictEqual(deleted, ["kafka-topics.sh --delete --if-exists --topic ^stale$"]);
        for (const t of internal) assert.match(r.stdout, new RegExp(`kept topic ${t.replace(/[.]/g, "[.]")}: not declared, but another tool's internal topic`));
    });
});
