// Real Kafka for the tests, what it needs before anything starts: Java and the tools, root (network
// namespaces), the Kafka jars in the cache (scripts/kafka-dist.sh), and the skip-or-fail rule.

import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../../../scripts/lib/mockRuntime";
import { KAFKA_JMX_AGENT_VERSION } from "../../../components/monitoring/kafka";
import { TEST_JMX_AGENT } from "../ops";
import { describeRun, run, serversRequired } from "../../../scripts/lib/servers";
import { requireBinaries } from "../servers";

export const KAFKA_VERSION = "3.8.1";

// ---------------------------------------------------------------------------------------------------
// Prerequisites: Java, the cached jars, root (network namespaces)

export interface KafkaDist {
    /** ~/.cache/msa-infra/kafka-3.8.1: bin/, libs/, config/, probe/, agents/ (see scripts/kafka-dist.sh). */
    dir: string;
    java: string;
    /** The metrics agent jar from Maven Central (agents/jmx_prometheus_javaagent-<version>.jar). */
    jmxAgentJar: string;
}

/**
 * What the harness stands in for the images of init containers: image → file path in the image → the file
 * here. The Kafka image itself is the cached distribution (imageDir); the metrics agent's image is the
 * Maven Central jar at the path the tests render kafka.jmxAgent.jar with.
 */
export function imageStandIns(dist: KafkaDist): Record<string, Record<string, string>> {
    return { [TEST_JMX_AGENT.image]: { [TEST_JMX_AGENT.jar]: dist.jmxAgentJar } };
}

/** Skips the suite locally with a printed reason, fails when real servers are required (CI). */
export function skipOrFail(ctx: Mocha.Context, reason: string): never {
    if (serversRequired()) {
        throw new Error(
            `${reason}; skipping a real-server test is not allowed here (CI=${process.env.CI ?? ""} MSA_REQUIRE_SERVERS=${process.env.MSA_REQUIRE_SERVERS ?? ""})`,
        );
    }
    console.log(`      skipped: ${reason}`);
    ctx.skip();
    throw new Error("unreachable: ctx.skip() throws");
}

/**
 * Java, the tools the harness needs, root, and the Kafka jars in the cache. The jars are never downloaded
 * here: scripts/kafka-dist.sh --offline only (re)builds launchers and the client from the local cache.
 */
export async function requireKafka(ctx: Mocha.Context): Promise<KafkaDist> {
    const bins = requireBinaries(ctx, ["java", "javac", "ip", "unshare", "setpriv", "mount", "bash"], "Java 17 runs Kafka; iproute2/util-linux give each node its namespaces");
    if (process.getuid?.() !== 0) {
        skipOrFail(ctx, "the real-Kafka tests create network namespaces and need root");
    }
    const r = await run("bash", [path.join(ROOT, "scripts/kafka-dist.sh"), "--offline"], { timeoutMs: 180_000 });
    if (r.code === 3) {
        const why = r.stderr.split("\n").filter((l) => l.startsWith("kafka-dist: ")).pop()?.slice("kafka-dist: ".length) ?? r.stderr.trim();
        skipOrFail(ctx, `Kafka ${KAFKA_VERSION} is not ready to run: ${why}`);
    }
    if (r.code !== 0) {
        throw new Error(`scripts/kafka-dist.sh --offline: ${describeRun(r)}`);
    }
    const m = /^KAFKA_DIST=(.+)$/m.exec(r.stdout);
    if (!m) throw new Error(`scripts/kafka-dist.sh printed no KAFKA_DIST: ${r.stdout}`);
    const dir = m[1].trim();
    const jmxAgentJar = path.join(dir, "agents", `jmx_prometheus_javaagent-${KAFKA_JMX_AGENT_VERSION}.jar`);
    if (!fs.existsSync(jmxAgentJar)) throw new Error(`scripts/kafka-dist.sh left no ${jmxAgentJar}`);
    return { dir, java: bins.java, jmxAgentJar };
}
