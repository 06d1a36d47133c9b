// The real-Kafka tests' client: one long-lived JVM (starting a JVM per check would cost seconds each on a
// 2-core machine) that takes commands on stdin and answers one JSON line per command on stdout. Built on
// kafka-clients 3.8.1 only, because the proofs need what the distribution's console tools do not report:
// which record ids the broker acknowledged (acks=all) and the exception class of a refused login.
//
// Protocol: a request is a line of tab-separated fields, `<id> <command> <args...>`; the answer is
// `<id>\t<json>`, where json is {"ok":true,...} or {"ok":false,"error":"<class>","cause":"<root class>","message":...}.
// Commands run concurrently (a producer stream keeps running while the test kills a broker); stdin EOF ends
// the process after closing every client. `<cfg>` is a client properties file written by the test.

package msa.kafka;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.QuorumInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class Probe {
    private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    private static final Map<String, Stream> STREAMS = new ConcurrentHashMap<>();
    private static final Map<String, IsrWatch> WATCHES = new ConcurrentHashMap<>();

    public static void main(String[] args) throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r);
            t.setDaemon(true);
            return t;
        });
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        answer("ready", ok());
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            String[] f = line.split("\t", -1);
            pool.submit(() -> {
                Map<String, Object> result;
                try {
                    result = dispatch(f);
                } catch (Throwable e) {
                    result = failure(e);
                }
                answer(f[0], result);
            });
        }
        // EOF: the test is done (or died); stop what is still producing, bounded, and leave.
        for (Stream s : STREAMS.values()) s.stop(5_000);
        for (IsrWatch w : WATCHES.values()) w.stop(5_000);
        pool.shutdownNow();
        pool.awaitTermination(5, TimeUnit.SECONDS);
        System.exit(0);
    }

    private static synchronized void answer(String id, Map<String, Object> result) {
        OUT.println(id + "\t" + json(result));
    }

    private static Map<String, Object> dispatch(String[] f) throws Exception {
        String cmd = f[1];
        switch (cmd) {
            case "quorum": return quorum(props(f[2]), ms(f[3]));
            case "cluster": return cluster(props(f[2]), ms(f[3]));
            case "create-topic": return createTopic(props(f[2]), f[3], Integer.parseInt(f[4]), Short.parseShort(f[5]), kv(f[6]), ms(f[7]));
            case "describe-topic": return describeTopic(props(f[2]), f[3], ms(f[4]));
            case "produce": return produce(props(f[2]), f[3], f[4], Integer.parseInt(f[5]), ms(f[6]));
            case "stream-start": return streamStart(f[0], props(f[2]), f[3], f[4], ms(f[5]), Integer.parseInt(f[6]));
            case "stream-status": return stream(f[2]).status();
            case "stream-stop": {
                Stream s = stream(f[2]);
                STREAMS.remove(f[2]);
                return s.stop(ms(f[3]));
            }
            case "consume": return consume(props(f[2]), f[3], ms(f[4]));
            case "fill": return fill(props(f[2]), f[3], Long.parseLong(f[4]), Integer.parseInt(f[5]), ms(f[6]));
            case "isr-watch-start": return isrWatchStart(f[0], props(f[2]), f[3], ms(f[4]), Integer.parseInt(f[5]));
            case "isr-watch-stop": {
                IsrWatch w = WATCHES.remove(f[2]);
                if (w == null) throw new IllegalArgumentException("no ISR watch " + f[2]);
                return w.stop(ms(f[3]));
            }
            default: throw new IllegalArgumentException("unknown command " + cmd);
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Admin

    private static Map<String, Object> quorum(Properties p, long timeoutMs) throws Exception {
        try (Admin admin = Admin.create(p)) {
            QuorumInfo q = admin.describeMetadataQuorum().quorumInfo().get(timeoutMs, TimeUnit.MILLISECONDS);
            Map<String, Object> r = ok();
            r.put("leaderId", q.leaderId());
            r.put("leaderEpoch", q.leaderEpoch());
            r.put("highWatermark", q.highWatermark());
            r.put("voters", replicaStates(q.voters()));
            r.put("observers", replicaStates(q.observers()));
            return r;
        }
    }

    private static List<Object> replicaStates(List<QuorumInfo.ReplicaState> states) {
        List<Object> out = new ArrayList<>();
        for (QuorumInfo.ReplicaState s : states) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", s.replicaId());
            m.put("logEndOffset", s.logEndOffset());
            out.add(m);
        }
        return out;
    }

    private static Map<String, Object> cluster(Properties p, long timeoutMs) throws Exception {
        try (Admin admin = Admin.create(p)) {
            DescribeClusterResult d = admin.describeCluster();
            Collection<Node> nodes = d.nodes().get(timeoutMs, TimeUnit.MILLISECONDS);
            Map<String, Object> r = ok();
            List<Object> list = new ArrayList<>();
            for (Node n : nodes) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", n.id());
                m.put("host", n.host());
                m.put("port", n.port());
                list.add(m);
            }
            r.put("nodes", list);
            r.put("clusterId", d.clusterId().get(timeoutMs, TimeUnit.MILLISECONDS));
            return r;
        }
    }

    private static Map<String, Object> createTopic(Properties p, String topic, int partitions, short rf, Map<String, String> configs, long timeoutMs) throws Exception {
        try (Admin admin = Admin.create(p)) {
            // A negative count means "the broker's default" (num.partitions, default.replication.factor).
            NewTopic t = new NewTopic(topic, partitions < 0 ? Optional.empty() : Optional.of(partitions), rf < 0 ? Optional.empty() : Optional.of(rf));
            admin.createTopics(List.of(t.configs(configs))).all().get(timeoutMs, TimeUnit.MILLISECONDS);
            return ok();
        }
    }

    private static Map<String, Object> describeTopic(Properties p, String topic, long timeoutMs) throws Exception {
        try (Admin admin = Admin.create(p)) {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(timeoutMs, TimeUnit.MILLISECONDS).get(topic);
            List<Object> parts = new ArrayList<>();
            for (TopicPartitionInfo tp : d.partitions()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("partition", tp.partition());
                m.put("leader", tp.leader() == null ? -1 : tp.leader().id());
                m.put("replicas", ids(tp.replicas()));
                m.put("isr", ids(tp.isr()));
                parts.add(m);
            }
            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config cfg = admin.describeConfigs(List.of(res)).all().get(timeoutMs, TimeUnit.MILLISECONDS).get(res);
            Map<String, Object> configs = new LinkedHashMap<>();
            cfg.entries().forEach(e -> configs.put(e.name(), e.value()));
            Map<String, Object> r = ok();
            r.put("partitions", parts);
            r.put("configs", configs);
            return r;
        }
    }

    private static List<Object> ids(List<Node> nodes) {
        List<Object> out = new ArrayList<>();
        for (Node n : nodes) out.add(n.id());
        return out;
    }

    // ---------------------------------------------------------------------------------------------------
    // Producing: every record's value is its unique id; the callback without exception is the broker's ack.

    private static KafkaProducer<String, String> producer(Properties p) {
        Properties q = new Properties();
        q.putAll(p);
        q.put("acks", "all");
        q.put("key.serializer", StringSerializer.class.getName());
        q.put("value.serializer", StringSerializer.class.getName());
        return new KafkaProducer<>(q);
    }

    private static Map<String, Object> produce(Properties p, String topic, String prefix, int count, long timeoutMs) throws Exception {
        Stream s = new Stream(p, topic, prefix, 0, count);
        s.sendAll();
        return s.stop(timeoutMs);
    }

    private static Map<String, Object> streamStart(String id, Properties p, String topic, String prefix, long intervalMs, int maxCount) {
        Stream s = new Stream(p, topic, prefix, intervalMs, maxCount);
        STREAMS.put(id, s);
        Thread t = new Thread(s::run, "stream-" + id);
        t.setDaemon(true);
        t.start();
        return ok();
    }

    private static Stream stream(String id) {
        Stream s = STREAMS.get(id);
        if (s == null) throw new IllegalArgumentException("no stream " + id);
        return s;
    }

    /** A producer sending `prefix-<n>` records, paced by intervalMs (0: as fast as it can), at most maxCount. */
    private static final class Stream {
        private final KafkaProducer<String, String> producer;
        private final String topic;
        private final String prefix;
        private final long intervalMs;
        private final int maxCount;
        private final AtomicBoolean stopping = new AtomicBoolean();
        private final List<String> acked = Collections.synchronizedList(new ArrayList<>());
        private final List<Object> failed = Collections.synchronizedList(new ArrayList<>());
        private volatile int sent;
        private volatile Thread runner;
        /** The longest time from send() to the acknowledgement or failure, in ms (a stalled partition shows here). */
        private final java.util.concurrent.atomic.AtomicLong maxLatencyMs = new java.util.concurrent.atomic.AtomicLong();

        Stream(Properties p, String topic, String prefix, long intervalMs, int maxCount) {
            this.producer = producer(p);
            this.topic = topic;
            this.prefix = prefix;
            this.intervalMs = intervalMs;
            this.maxCount = maxCount;
        }

        void sendAll() {
            for (int i = 0; i < maxCount; i++) send(i);
        }

        void run() {
            runner = Thread.currentThread();
            long deadline = System.currentTimeMillis() + 600_000; // bounded even if nobody stops it
            for (int i = 0; i < maxCount && !stopping.get() && System.currentTimeMillis() < deadline; i++) {
                send(i);
                try {
                    Thread.sleep(intervalMs);
                } catch (InterruptedException e) {
                    break;
                }
            }
        }

        private void send(int i) {
            String id = prefix + "-" + i;
            sent++;
            long t0 = System.nanoTime();
            try {
                producer.send(new ProducerRecord<>(topic, id, id), (meta, e) -> {
                    maxLatencyMs.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
                    if (e == null) {
                        acked.add(id);
                    } else {
                        failed.add(List.of(id, e.getClass().getName(), String.valueOf(e.getMessage())));
                    }
                });
            } catch (Exception e) {
                failed.add(List.of(id, e.getClass().getName(), String.valueOf(e.getMessage())));
            }
        }

        Map<String, Object> status() {
            Map<String, Object> r = ok();
            r.put("sent", sent);
            r.put("acked", acked.size());
            r.put("failed", failed.size());
            r.put("maxLatencyMs", maxLatencyMs.get());
            return r;
        }

        /** Stops sending, waits (bounded) for every outstanding callback, and reports ids. */
        Map<String, Object> stop(long timeoutMs) {
            stopping.set(true);
            Thread t = runner;
            if (t != null) {
                try {
                    t.join(timeoutMs);
                } catch (InterruptedException ignored) {
                    // report what we have
                }
            }
            producer.close(Duration.ofMillis(timeoutMs));
            Map<String, Object> r = ok();
            r.put("sent", sent);
            synchronized (acked) {
                r.put("acked", new ArrayList<Object>(acked));
            }
            synchronized (failed) {
                r.put("failed", new ArrayList<Object>(failed));
            }
            r.put("maxLatencyMs", maxLatencyMs.get());
            return r;
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Bulk data: `bytes` of incompressible records of `recordSize` bytes, spread over every partition, as
    // fast as the cluster takes them (acks=all, the producer's own batching); reports what was acknowledged.

    private static Map<String, Object> fill(Properties p, String topic, long bytes, int recordSize, long timeoutMs) throws Exception {
        Properties q = new Properties();
        q.putAll(p);
        q.put("acks", "all");
        q.putIfAbsent("linger.ms", "20");
        q.putIfAbsent("batch.size", "524288");
        q.putIfAbsent("buffer.memory", "67108864");
        q.putIfAbsent("max.request.size", "4194304");
        q.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        q.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        java.util.Random random = new java.util.Random(42);
        // A pool of random payloads (incompressible; no compression is configured anyway), reused round robin.
        byte[][] pool = new byte[64][];
        for (int i = 0; i < pool.length; i++) {
            pool[i] = new byte[recordSize];
            random.nextBytes(pool[i]);
        }
        long deadline = System.currentTimeMillis() + timeoutMs;
        long t0 = System.currentTimeMillis();
        java.util.concurrent.atomic.AtomicLong ackedBytes = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong failedCount = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicReference<String> firstError = new java.util.concurrent.atomic.AtomicReference<>();
        long records = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(q)) {
            int partitions = producer.partitionsFor(topic).size();
            for (long sent = 0; sent < bytes && System.currentTimeMillis() < deadline; sent += recordSize, records++) {
                producer.send(new ProducerRecord<>(topic, (int) (records % partitions), null, pool[(int) (records % pool.length)]), (meta, e) -> {
                    if (e == null) ackedBytes.addAndGet(recordSize);
                    else {
                        failedCount.incrementAndGet();
                        firstError.compareAndSet(null, e.getClass().getName() + ": " + e.getMessage());
                    }
                });
            }
            producer.flush();
        }
        Map<String, Object> r = ok();
        r.put("records", records);
        r.put("ackedBytes", ackedBytes.get());
        r.put("failed", failedCount.get());
        r.put("firstError", firstError.get());
        r.put("ms", System.currentTimeMillis() - t0);
        return r;
    }

    // ---------------------------------------------------------------------------------------------------
    // ISR watch: one admin client polling the topic's partitions every intervalMs; each sample is
    // [epoch ms, partitions under minIsr, partitions under-replicated, then per broker id 0..: partitions it
    // replicates but is not in the ISR of]. Sampling errors (a broker restarting) are counted, not fatal.

    private static Map<String, Object> isrWatchStart(String id, Properties p, String topic, long intervalMs, int minIsr) {
        IsrWatch w = new IsrWatch(p, topic, intervalMs, minIsr);
        WATCHES.put(id, w);
        Thread t = new Thread(w::run, "isr-watch-" + id);
        t.setDaemon(true);
        w.runner = t;
        t.start();
        return ok();
    }

    private static final class IsrWatch {
        private final Admin admin;
        private final String topic;
        private final long intervalMs;
        private final int minIsr;
        private final AtomicBoolean stopping = new AtomicBoolean();
        private final List<Object> samples = Collections.synchronizedList(new ArrayList<>());
        private volatile int errors;
        private volatile String lastError;
        volatile Thread runner;

        IsrWatch(Properties p, String topic, long intervalMs, int minIsr) {
            Properties q = new Properties();
            q.putAll(p);
            q.putIfAbsent("default.api.timeout.ms", "5000");
            q.put("request.timeout.ms", "3000");
            this.admin = Admin.create(q);
            this.topic = topic;
            this.intervalMs = intervalMs;
            this.minIsr = minIsr;
        }

        void run() {
            long deadline = System.currentTimeMillis() + 900_000; // bounded even if nobody stops it
            while (!stopping.get() && System.currentTimeMillis() < deadline) {
                long t = System.currentTimeMillis();
                try {
                    TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(5_000, TimeUnit.MILLISECONDS).get(topic);
                    int underMin = 0, underRep = 0;
                    int[] missing = new int[16];
                    for (TopicPartitionInfo tp : d.partitions()) {
                        if (tp.isr().size() < minIsr) underMin++;
                        if (tp.isr().size() < tp.replicas().size()) underRep++;
                        for (Node n : tp.replicas()) {
                            if (!tp.isr().contains(n) && n.id() >= 0 && n.id() < missing.length) missing[n.id()]++;
                        }
                    }
                    List<Object> s = new ArrayList<>();
                    s.add(t);
                    s.add(underMin);
                    s.add(underRep);
                    for (int i = 0; i < 3; i++) s.add(missing[i]);
                    samples.add(s);
                } catch (Exception e) {
                    errors++;
                    lastError = e.getClass().getName() + ": " + e.getMessage();
                }
                long sleep = intervalMs - (System.currentTimeMillis() - t);
                if (sleep > 0) {
                    try {
                        Thread.sleep(sleep);
                    } catch (InterruptedException e) {
                        break;
                    }
                }
            }
        }

        Map<String, Object> stop(long timeoutMs) {
            stopping.set(true);
            Thread t = runner;
            if (t != null) {
                try {
                    t.join(timeoutMs);
                } catch (InterruptedException ignored) {
                    // report what we have
                }
            }
            admin.close(Duration.ofMillis(timeoutMs));
            Map<String, Object> r = ok();
            synchronized (samples) {
                r.put("samples", new ArrayList<Object>(samples));
            }
            r.put("errors", errors);
            r.put("lastError", lastError);
            return r;
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Consuming: every partition from the beginning up to the end offsets seen at the start (no group).

    private static Map<String, Object> consume(Properties p, String topic, long timeoutMs) throws Exception {
        Properties q = new Properties();
        q.putAll(p);
        q.put("key.deserializer", StringDeserializer.class.getName());
        q.put("value.deserializer", StringDeserializer.class.getName());
        q.put("enable.auto.commit", "false");
        q.put("auto.offset.reset", "earliest");
        long deadline = System.currentTimeMillis() + timeoutMs;
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(q)) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofMillis(timeoutMs));
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo i : infos) tps.add(new TopicPartition(topic, i.partition()));
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = new HashMap<>(c.endOffsets(tps, Duration.ofMillis(timeoutMs)));
            List<Object> values = new ArrayList<>();
            while (System.currentTimeMillis() < deadline) {
                boolean done = true;
                for (TopicPartition tp : tps) {
                    if (c.position(tp, Duration.ofMillis(timeoutMs)) < end.get(tp)) done = false;
                }
                if (done) break;
                for (ConsumerRecord<String, String> rec : c.poll(Duration.ofMillis(200))) values.add(rec.value());
            }
            Map<String, Object> r = ok();
            r.put("values", values);
            Map<String, Object> ends = new LinkedHashMap<>();
            end.forEach((tp, o) -> ends.put(String.valueOf(tp.partition()), o));
            r.put("endOffsets", ends);
            r.put("complete", System.currentTimeMillis() < deadline);
            return r;
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Plumbing

    private static Properties props(String file) throws IOException {
        Properties p = new Properties();
        try (FileInputStream in = new FileInputStream(file)) {
            p.load(in);
        }
        return p;
    }

    private static long ms(String s) {
        return Long.parseLong(s);
    }

    private static Map<String, String> kv(String s) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String e : s.split(",")) {
            if (e.isEmpty()) continue;
            int i = e.indexOf('=');
            m.put(e.substring(0, i), e.substring(i + 1));
        }
        return m;
    }

    private static Map<String, Object> ok() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ok", true);
        return m;
    }

    /** The exception that failed a command: its class (unwrapping ExecutionException) and its root cause. */
    private static Map<String, Object> failure(Throwable e) {
        Throwable top = e;
        while ((top instanceof java.util.concurrent.ExecutionException || top instanceof java.util.concurrent.CompletionException) && top.getCause() != null) {
            top = top.getCause();
        }
        Throwable root = top;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ok", false);
        m.put("error", top.getClass().getName());
        m.put("cause", root.getClass().getName());
        m.put("message", String.valueOf(top.getMessage()));
        return m;
    }

    private static String json(Object o) {
        StringBuilder b = new StringBuilder();
        write(b, o);
        return b.toString();
    }

    @SuppressWarnings("unchecked")
    private static void write(StringBuilder b, Object o) {
        if (o == null) {
            b.append("null");
        } else if (o instanceof Number || o instanceof Boolean) {
            b.append(o);
        } else if (o instanceof Map) {
            b.append('{');
            boolean first = true;
            for (Map.Entry<String, Object> e : ((Map<String, Object>) o).entrySet()) {
                if (!first) b.append(',');
                first = false;
                write(b, e.getKey());
                b.append(':');
                write(b, e.getValue());
            }
            b.append('}');
        } else if (o instanceof Collection) {
            b.append('[');
            boolean first = true;
            for (Object e : (Collection<Object>) o) {
                if (!first) b.append(',');
                first = false;
                write(b, e);
            }
            b.append(']');
        } else {
            String s = o.toString();
            b.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\') b.append('\\').append(c);
                else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                else b.append(c);
            }
            b.append('"');
        }
    }
}
