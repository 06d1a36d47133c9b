// Checks shared by the dev and prod proofs (not a spec file: the specs call these).

import * as assert from "assert";
import type { KafkaCluster, KafkaNode } from "../../helpers/kafka";

export const SASL_AUTH_FAILED = "org.apache.kafka.common.errors.SaslAuthenticationException";

/** The ids of consumed values, asserting none is duplicated (a duplicate would hide a lost id in a count). */
export function uniqueIds(values: string[]): Set<string> {
    const s = new Set(values);
    assert.strictEqual(s.size, values.length, `duplicates among ${values.length} consumed records`);
    return s;
}

/** Output of every node since `marks` (log lengths taken before an action). */
function logsSince(c: KafkaCluster, marks: Map<KafkaNode, number>): string {
    return c.nodes.map((n) => n.logs().slice(marks.get(n) ?? 0)).join("\n");
}

function logMarks(c: KafkaCluster): Map<KafkaNode, number> {
    return new Map(c.nodes.map((n) => [n, n.logs().length]));
}

/** What the broker answers a refused login with: PLAIN's words (admin, kafka.plainUsers), or SCRAM's (application users). */
const REFUSED = {
    PLAIN: "Invalid username or password",
    SCRAM: "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
};

/**
 * A SASL login with `jaas` on the client listener is refused: the client gets SaslAuthenticationException
 * (its mechanism's message: the login module names the mechanism, see clientConfig) and a broker logs the
 * failed authentication from the client's address.
 */
export async function assertRefusedLogin(c: KafkaCluster, jaas: string): Promise<void> {
    const marks = logMarks(c);
    const message = jaas.includes(".plain.PlainLoginModule ") ? REFUSED.PLAIN : REFUSED.SCRAM;
    const r = await c.probeOrThrow().call("cluster", [c.clientConfig(jaas), "15000"], 30_000);
    assert.strictEqual(r.ok, false, `the login was accepted: ${JSON.stringify(r).slice(0, 300)}`);
    assert.strictEqual(r.error, SASL_AUTH_FAILED, `error kind: ${r.error}: ${r.message}`);
    assert.ok(String(r.message).includes(message), `${r.message} does not say: ${message}`);
    const from = c.lab.rootAddress.replace(/\./g, "\\.");
    await c.waitUntil("the broker's log of the failed authentication", 10_000, async () =>
        new RegExp(`Failed authentication with /${from} .*${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`).test(logsSince(c, marks)),
    );
}

/**
 * A PLAINTEXT client on the SASL client port gets nowhere: the broker reads its first request where it
 * expects the SASL handshake (or, with TLS, the TLS handshake), logs a failed authentication and drops the
 * connection, so the client only ever times out.
 */
export async function assertRefusedPlaintext(c: KafkaCluster): Promise<void> {
    const marks = logMarks(c);
    const cfg = c.clientConfig(undefined, { "security.protocol": "PLAINTEXT", "default.api.timeout.ms": "3000", "request.timeout.ms": "2000" });
    const r = await c.probeOrThrow().call("cluster", [cfg, "3000"], 30_000);
    assert.strictEqual(r.ok, false, `PLAINTEXT was served: ${JSON.stringify(r).slice(0, 300)}`);
    assert.match(String(r.error), /TimeoutException$/, `error kind: ${r.error}: ${r.message}`);
    const from = c.lab.rootAddress.replace(/\./g, "\\.");
    const why = c.rendered.connection.securityProtocol === "SASL_SSL" ? "\\(SSL handshake failed\\)" : "Unexpected Kafka request of type METADATA during SASL handshake";
    await c.waitUntil("the broker's log of the refused PLAINTEXT client", 10_000, async () => new RegExp(`Failed authentication with /${from} .*${why}`).test(logsSince(c, marks)));
}

/** A node stopped by SIGTERM within the grace period, with the JVM's exit status for SIGTERM (143) or 0. */
export function assertCleanStop(node: KafkaNode, r: { code: number | null; signal: NodeJS.Signals | null; killed: boolean }): void {
    assert.strictEqual(r.killed, false, `${node.pod} did not stop within terminationGracePeriodSeconds; log:\n${node.process?.logTail(30)}`);
    assert.ok(r.code === 0 || r.code === 143 || r.signal === "SIGTERM", `${node.pod} exit: code ${r.code}, signal ${r.signal}; log:\n${node.process?.logTail(30)}`);
}

export function indent(text: string): string {
    return text
        .split("\n")
        .map((l) => `        ${l}`)
        .join("\n");
}
