// The Kafka readiness script (kafkaReadinessScript, ready.sh in ConfigMap kafka-config) against a broker
// stand-in that speaks the part of Kafka's protocol the script uses (SaslHandshake v1, SaslAuthenticate v1,
// Metadata v5) on a loopback port: every verdict, every refusal, a broker that never answers, a large
// cluster's Metadata, and the same under busybox's od, dd, head, tr, awk and sleep (what the apache/kafka image
// has) as under GNU's. Real Kafka answers it in tests/servers/kafka/5-roll-readiness.spec.ts.

import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { kafkaJaasConfig, kafkaReadinessCommand, kafkaReadinessScript, KAFKA_PATHS, KAFKA_PORTS } from "../../components/kafka/files";
import { makeTempDir, removeTempDir, run } from "../../scripts/lib/servers";
import { requireBinaries } from "../helpers/servers";

/** A partition as the stand-in's Metadata answer lists it. */
interface Part {
    topic: string;
    partition: number;
    leader: number;
    replicas: number[];
    isr: number[];
}

interface Broker {
    /** Unfenced brokers (the Metadata answer lists only those). */
    brokers: number[];
    parts: Part[];
    /** The PLAIN login it accepts. */
    user: string;
    password: string;
    /** Misbehaviours: never answer, or close the connection after the handshake. */
    silent?: boolean;
    closeAfterHandshake?: boolean;
}

/** Kafka's wire encoding, just what the stand-in writes. */
class Writer {
    private parts: Buffer[] = [];
    i8(v: number): this {
        const b = Buffer.alloc(1);
        b.writeInt8(v);
        this.parts.push(b);
        return this;
    }
    i16(v: number): this {
        const b = Buffer.alloc(2);
        b.writeInt16BE(v);
        this.parts.push(b);
        return this;
    }
    i32(v: number): this {
        const b = Buffer.alloc(4);
        b.writeInt32BE(v);
        this.parts.push(b);
        return this;
    }
    i64(v: bigint): this {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(v);
        this.parts.push(b);
        return this;
    }
    str(s: string | null): this {
        if (s === null) return this.i16(-1);
        const b = Buffer.from(s, "utf8");
        return this.i16(b.length).raw(b);
    }
    raw(b: Buffer): this {
        this.parts.push(b);
        return this;
    }
    ints(a: number[]): this {
        this.i32(a.length);
        for (const v of a) this.i32(v);
        return this;
    }
    done(): Buffer {
        return Buffer.concat(this.parts);
    }
}

/** Serves `b` on 127.0.0.1 (a free port); records what each connection asked for. */
async function standIn(b: Broker): Promise<{ port: number; requests: string[]; close: () => Promise<void> }> {
    const requests: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((sock) => {
        sockets.add(sock);
        sock.on("close", () => sockets.delete(sock));
        sock.on("error", () => undefined);
        let buf = Buffer.alloc(0);
        sock.on("data", (d) => {
            buf = Buffer.concat([buf, d]);
            while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
                const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
                buf = buf.subarray(4 + frame.length);
                const api = frame.readInt16BE(0);
                const version = frame.readInt16BE(2);
                const corr = frame.readInt32BE(4);
                const clientLen = frame.readInt16BE(8);
                const body = frame.subarray(10 + clientLen);
                requests.push(`${api}v${version}`);
                if (b.silent) continue;
                const w = new Writer().i32(corr);
                if (api === 17) {
                    const mech = body.subarray(2, 2 + body.readInt16BE(0)).toString();
                    w.i16(mech === "PLAIN" ? 0 : 33).i32(1).str("PLAIN");
                } else if (api === 36) {
                    const auth = body.subarray(4, 4 + body.readInt32BE(0)).toString("utf8");
                    const ok = auth === `\0${b.user}\0${b.password}`;
                    w.i16(ok ? 0 : 58).str(ok ? null : "Authentication failed: Invalid username or password").i32(0).i64(0n);
                } else if (api === 3 && version === 5) {
                    w.i32(0).i32(b.brokers.length);
                    for (const id of b.brokers) w.i32(id).str("127.0.0.1").i32(KAFKA_PORTS.probe).str(null);
                    w.str("cluster-id").i32(b.brokers[0] ?? -1);
                    const topics = [...new Set(b.parts.map((p) => p.topic))];
                    w.i32(topics.length);
                    for (const t of topics) {
                        const ps = b.parts.filter((p) => p.topic === t);
                        w.i16(0).str(t).i8(t.startsWith("__") ? 1 : 0).i32(ps.length);
                        for (const p of ps) w.i16(p.leader < 0 ? 5 : 0).i32(p.partition).i32(p.leader).ints(p.replicas).ints(p.isr).ints([]);
                    }
                } else {
                    sock.destroy();
                    return;
                }
                const payload = w.done();
                sock.write(Buffer.concat([new Writer().i32(payload.length).done(), payload]));
                if (api === 17 && b.closeAfterHandshake) sock.end();
            }
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    return {
        port,
        requests,
        close: () =>
            new Promise((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}

/** RF 3 over brokers 0..2, leaders round robin, everyone in sync. */
function partitions(topic: string, n: number): Part[] {
    return Array.from({ length: n }, (_, i) => ({ topic, partition: i, leader: i % 3, replicas: [i % 3, (i + 1) % 3, (i + 2) % 3], isr: [i % 3, (i + 1) % 3, (i + 2) % 3] }));
}

describe("Kafka readiness script (ready.sh) against a protocol stand-in", function () {
    this.timeout(60_000);
    let tmp: string;
    let jaasFile: string;
    const password = "Pw0rd\"with\\quote";
    const jaas = kafkaJaasConfig({ login: "broker", passwords: { broker: password, "broker-next": "other-Pw1" } }, [{ name: "admin", password: "admin-Pw2" }]);
    const toolsets: { label: string; path: string }[] = [];

    before(function () {
        const bins = requireBinaries(this, ["bash", "od", "dd", "head", "tr", "awk", "sleep", "busybox"], "bash and the tools ready.sh uses; busybox stands in for the apache/kafka image's (Alpine) tools");
        tmp = makeTempDir("kafka-ready");
        jaasFile = path.join(tmp, "kafka_server_jaas.conf");
        fs.writeFileSync(jaasFile, jaas);
        // The image's tools are busybox applets: the same script, with them first on PATH.
        const bb = path.join(tmp, "busybox-bin");
        fs.mkdirSync(bb);
        for (const tool of ["od", "dd", "head", "tr", "awk", "sleep"]) fs.symlinkSync(bins.busybox, path.join(bb, tool));
        toolsets.push({ label: "GNU tools", path: "/usr/bin:/bin" }, { label: "busybox tools", path: `${bb}:/usr/bin:/bin` });
    });

    after(function () {
        if (tmp) removeTempDir(tmp);
    });

    /** ready.sh as rendered, with the stand-in's port and the test's JAAS file instead of the pod's. */
    function script(port: number): string {
        const text = kafkaReadinessScript();
        assert.ok(text.includes(`port=${KAFKA_PORTS.probe}\n`) && text.includes(`jaas=${KAFKA_PATHS.jaas}\n`));
        const file = path.join(tmp, `ready-${port}.sh`);
        fs.writeFileSync(file, text.replace(`port=${KAFKA_PORTS.probe}\n`, `port=${port}\n`).replace(`jaas=${KAFKA_PATHS.jaas}\n`, `jaas=${jaasFile}\n`));
        return file;
    }

    async function probe(b: Broker | undefined, pathEnv: string, hostname = "kafka-1"): Promise<{ code: number | null; out: string; ms: number; requests: string[] }> {
        const s = b ? await standIn(b) : undefined;
        // No stand-in: a port nothing listens on (the broker before it is unfenced).
        const port = s?.port ?? (await freePort());
        try {
            const t0 = Date.now();
            const r = await run("bash", [script(port)], { env: { PATH: pathEnv, HOSTNAME: hostname }, timeoutMs: 20_000 });
            return { code: r.code, out: (r.stdout + r.stderr).trim(), ms: Date.now() - t0, requests: s?.requests ?? [] };
        } finally {
            await s?.close();
        }
    }

    const healthy = (): Broker => ({ brokers: [0, 1, 2], parts: [...partitions("orders", 6), ...partitions("__consumer_offsets", 3)], user: "broker", password });

    it("is run as `bash <config mount>/ready.sh`", function () {
        assert.deepStrictEqual(kafkaReadinessCommand(), ["bash", `${KAFKA_PATHS.template}/ready.sh`]);
    });

    for (const t of [0, 1]) {
        describe(`with ${["GNU tools", "busybox tools"][t]}`, function () {
            const tools = () => toolsets[t].path;

            it("passes when the broker is unfenced and in the ISR of every partition it replicates; logs in as the JAAS file's broker login", async function () {
                const r = await probe(healthy(), tools());
                assert.strictEqual(r.code, 0, r.out);
                assert.strictEqual(r.out, "ready: running, in the ISR of all 9 partitions it replicates");
                assert.deepStrictEqual(r.requests, ["17v1", "36v1", "3v5"]);
            });

            it("fails while the broker is behind: names the partitions whose ISR it is not in", async function () {
                const b = healthy();
                for (const p of b.parts.slice(0, 4)) p.isr = p.isr.filter((id) => id !== 1);
                const r = await probe(b, tools());
                assert.strictEqual(r.code, 1, r.out);
                // orders-0 has replicas [0,1,2]; 1..3 too; all four include broker 1.
                assert.strictEqual(r.out, "not ready: catching up: not yet in the ISR of 4 of the 9 partitions it replicates (orders-0, orders-1, orders-2, ...)");
            });

            it("passes when only another broker is behind (one broker down keeps the others Ready)", async function () {
                const b = healthy();
                for (const p of b.parts) p.isr = p.isr.filter((id) => id !== 2);
                b.brokers = [0, 1];
                for (const p of b.parts) if (p.leader === 2) p.leader = 0;
                const r = await probe(b, tools());
                assert.strictEqual(r.code, 0, r.out);
            });

            it("does not wait for offline partitions (no leader): nobody can catch up on them", async function () {
                const b = healthy();
                b.parts[1] = { ...b.parts[1], leader: -1, isr: [0] };
                const r = await probe(b, tools());
                assert.strictEqual(r.code, 0, r.out);
                assert.strictEqual(r.out, "ready: running, in the ISR of all 9 partitions it replicates (1 offline partitions without a leader not counted)");
            });

            it("ignores partitions this broker does not replicate", async function () {
                const b = healthy();
                b.parts.push({ topic: "elsewhere", partition: 0, leader: 0, replicas: [0, 2], isr: [0] });
                const r = await probe(b, tools());
                assert.strictEqual(r.code, 0, r.out);
            });

            it("fails when the broker is fenced (absent from its own list of unfenced brokers)", async function () {
                const b = healthy();
                b.brokers = [0, 2];
                const r = await probe(b, tools());
                assert.strictEqual(r.code, 1, r.out);
                assert.match(r.out, /^not ready: the broker is fenced/);
            });

            it("fails, saying so, before the broker listens (not yet RUNNING)", async function () {
                const r = await probe(undefined, tools());
                assert.strictEqual(r.code, 1, r.out);
                assert.match(r.out, /^not ready: the broker is not RUNNING: its listeners do not accept connections yet/);
            });

            it("fails on a refused login, with Kafka's error code", async function () {
                const r = await probe({ ...healthy(), password: "not-the-one" }, tools());
                assert.strictEqual(r.code, 1, r.out);
                assert.strictEqual(r.out, "not ready: SASL login as broker refused (error 58)");
            });

            it("fails within about 3 s when the broker accepts but never answers", async function () {
                const r = await probe({ ...healthy(), silent: true }, tools());
                assert.strictEqual(r.code, 1, r.out);
                assert.strictEqual(r.out, "not ready: no answer on the PROBE listener within 3 s");
                assert.ok(r.ms < 6000, `${r.ms} ms`);
            });

            it("fails when the broker closes the connection", async function () {
                const r = await probe({ ...healthy(), closeAfterHandshake: true }, tools());
                assert.strictEqual(r.code, 1, r.out);
                assert.match(r.out, /^not ready: the PROBE listener closed the connection/);
            });

            it("reads a large cluster's answer (6,000 partitions) correctly and quickly", async function () {
                const b: Broker = { ...healthy(), parts: [...partitions("big-topic-with-a-longer-name", 5000), ...partitions("__consumer_offsets", 50), ...partitions("x", 950)] };
                b.parts[4320].isr = [b.parts[4320].leader]; // leader 0: broker 1 dropped
                const r = await probe(b, tools());
                assert.strictEqual(r.code, 1, r.out);
                assert.strictEqual(r.out, "not ready: catching up: not yet in the ISR of 1 of the 6000 partitions it replicates (big-topic-with-a-longer-name-4320)");
                console.log(`      ${toolsets[t].label}: 6,000 partitions (a ${((6000 * 50) / 1024).toFixed(0)} KiB answer) judged in ${r.ms} ms`);
            });
        });
    }

    it("derives the node id from HOSTNAME and refuses a name without an ordinal", async function () {
        const b = healthy();
        for (const p of b.parts) p.isr = p.isr.filter((id) => id !== 0);
        const r0 = await probe(b, "/usr/bin:/bin", "kafka-0");
        assert.strictEqual(r0.code, 1, r0.out);
        const r1 = await probe(b, "/usr/bin:/bin", "kafka-1");
        assert.strictEqual(r1.code, 0, r1.out);
        const bad = await probe(b, "/usr/bin:/bin", "kafka");
        assert.strictEqual(bad.code, 1);
        assert.match(bad.out, /cannot derive the node id from HOSTNAME=kafka/);
    });
});

function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(p));
        });
    });
}
