package io.watershed.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.WatershedHttp;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;

/**
 * The speed-layer benchmark, against {@code watershed up} in its own JVM. Writes its table into
 * {@code docs/benchmarks.md}.
 *
 * <p>Freshness: markers sent over HTTP, each timed from its acknowledgement to the first query answer
 * that holds it, in a live view ({@code live.marker_seen}, a pipeline's aggregate) and in the raw table
 * ({@code raw.markers}, through the fresh tail). Throughput: Nexmark q5 and q7 over the same bids in
 * Kafka, as Watershed pipelines (the stream's table, checkpoints, the lake sink) and on a bare Flink
 * MiniCluster in a JVM of the same size (Flink's Kafka connector and JSON format, a blackhole sink),
 * alternating, three rounds each. Each side's rate is read from its consumer group's committed offsets
 * (both commit them at each checkpoint, every second) from the first commit to the last record.
 */
public final class SpeedLayerBenchmark {
    private static final String HEAP = "-Xmx2g";
    private static final String[] QUERIES = {"q5", "q7"};
    private static final int ROUNDS = 3;

    public static void main(String[] args) throws Exception {
        long bids = args.length > 0 ? Long.parseLong(args[0]) : 2_000_000;
        Path out = Path.of(args.length > 1 ? args[1] : "docs/benchmarks.md");
        Path work = Files.createTempDirectory("watershed-speed-bench");
        Path project = work.resolve("project");
        Files.createDirectories(project.resolve("streams"));
        Files.createDirectories(project.resolve("pipelines"));
        Files.writeString(project.resolve("watershed.yaml"), "name: speed\nhttp:\n  port: " + FoundationBenchmark.freePort()
                + "\nbus:\n  port: 0\n  plaintext: true\ningest:\n  forward_port: 0\nlake:\n  commit_interval: 1s\n");
        Files.writeString(project.resolve("streams/bid.yaml"), """
                name: bid
                partitions: 2
                event_time: dateTime
                lateness: 1s
                fields:
                  auction: long
                  bidder: long
                  price: long
                  channel: string
                  url: string
                  dateTime: timestamp
                  extra: string
                """);
        Files.writeString(project.resolve("streams/markers.yaml"), "name: markers\npartitions: 2\nfields:\n  marker: long\n  pad: string\n");
        Files.writeString(project.resolve("pipelines/q5.sql"), "INSERT INTO marts.nexmark_q5\n" + Nexmark.q5("streams.bid") + ";\n");
        Files.writeString(project.resolve("pipelines/q7.sql"), "INSERT INTO marts.nexmark_q7\n" + Nexmark.q7("streams.bid") + ";\n");
        Files.writeString(project.resolve("pipelines/fresh.sql"),
                "CREATE LIVE VIEW marker_seen AS SELECT marker, COUNT(*) AS n FROM streams.markers WHERE marker IS NOT NULL GROUP BY marker;\n");

        Results r = new Results();
        r.bids = bids;
        String distribution = "watershed-cli/target/watershed-cli.jar:watershed-cli/target/lib/*";
        try (PlatformProcess platform = PlatformProcess.start(project, work.resolve("data"), work.resolve("platform.log"),
                List.of(HEAP), distribution)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            http.awaitPipelinesRunning(3, Duration.ofMinutes(3));

            freshness(http, r);
            System.out.printf("freshness: live view p50 %d p95 %d max %d ms; raw tail p50 %d p95 %d max %d ms%n",
                    percentile(r.live, 50), percentile(r.live, 95), percentile(r.live, 100),
                    percentile(r.raw, 50), percentile(r.raw, 95), percentile(r.raw, 100));

            for (String q : QUERIES) {
                post(http, "/v1/pipelines/" + q + "/stop");
            }
            produceBids(platform.bootstrapServers(), bids, r);
            long landed = awaitCount(http, "committed.raw.bid", bids, Duration.ofMinutes(10));
            System.out.printf("%,d bids produced in %.1f s, landed in raw.bid (%,d rows)%n", bids, r.produceSeconds, landed);

            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, platform.bootstrapServers()))) {
                Map<TopicPartition, Long> ends = endOffsets(admin, "bid");
                for (int round = 1; round <= ROUNDS; round++) {
                    for (String q : QUERIES) {
                        // alternate who goes first, so neither always runs on a machine the other just warmed or slowed
                        boolean peerFirst = round % 2 == 0;
                        double bare = 0;
                        if (peerFirst) {
                            bare = bare(admin, platform.bootstrapServers(), q, round, ends, work);
                        }
                        String group = "watershed-pipeline-" + q;
                        deleteGroup(admin, group);
                        post(http, "/v1/pipelines/" + q + "/restart?reset=true");
                        double watershed = rate(admin, group, ends, null);
                        post(http, "/v1/pipelines/" + q + "/stop");
                        if (!peerFirst) {
                            bare = bare(admin, platform.bootstrapServers(), q, round, ends, work);
                        }
                        r.watershed.computeIfAbsent(q, k -> new ArrayList<>()).add(watershed);
                        r.bare.computeIfAbsent(q, k -> new ArrayList<>()).add(bare);
                        System.out.printf("round %d %s: Watershed %,.0f events/s, bare MiniCluster %,.0f events/s%n", round, q,
                                watershed, bare);
                    }
                }
            }
            for (String q : QUERIES) {
                r.outputRows.put(q, http.count("SELECT count(*) FROM marts.nexmark_" + q));
            }
            r.peakRssMb = FoundationBenchmark.rssMb(platform.pid(), "VmHWM");
            platform.stop(Duration.ofSeconds(60));
        }
        BenchReport.writeSection(out, "SpeedLayerBenchmark", "Speed layer: pipelines, live views and the fresh tail", r.markdown());
        System.out.println("wrote " + out);
    }

    /**
     * 200 markers, each after a batch of 50 filler events; after each acknowledgement one query asks
     * both the live view and the raw table for the marker until both hold it.
     */
    private static void freshness(WatershedHttp http, Results r) {
        String filler = ("{\"pad\":\"" + "f".repeat(200) + "\"}\n").repeat(50);
        // warm up: the live table and the raw table's columns exist
        http.events("markers", "{\"marker\":-1}");
        awaitCount(http, "live.marker_seen", 1, Duration.ofMinutes(1));
        for (long m = 0; m < 200; m++) {
            http.events("markers", filler);
            WatershedHttp.Response sent = http.events("markers", "{\"marker\":" + m + "}");
            long acked = System.nanoTime();
            if (sent.status() != 200) {
                throw new IllegalStateException("marker refused: " + sent.body());
            }
            long live = -1;
            long raw = -1;
            long deadline = acked + Duration.ofSeconds(30).toNanos();
            while ((live < 0 || raw < 0) && System.nanoTime() < deadline) {
                JsonNode row = http.query("SELECT (SELECT count(*) FROM live.marker_seen WHERE marker = " + m + "), "
                        + "(SELECT count(*) FROM raw.markers WHERE marker = " + m + ")").path("rows").get(0);
                long answered = System.nanoTime();
                if (live < 0 && row.get(0).asLong() > 0) {
                    live = (answered - acked) / 1_000_000;
                }
                if (raw < 0 && row.get(1).asLong() > 0) {
                    raw = (answered - acked) / 1_000_000;
                }
            }
            if (live < 0 || raw < 0) {
                throw new IllegalStateException("marker " + m + " not visible within 30 s (live " + live + ", raw " + raw + ")");
            }
            r.live.add(live);
            r.raw.add(raw);
        }
    }

    private static void produceBids(String bootstrap, long bids, Results r) throws Exception {
        SplittableRandom random = new SplittableRandom(7);
        long start = System.currentTimeMillis() - bids / 10 - 60_000;
        long t0 = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = FoundationBenchmark.rawProducer(bootstrap)) {
            for (long i = 0; i < bids; i++) {
                producer.send(new ProducerRecord<>("bid", Nexmark.bid(i, start, random).getBytes(StandardCharsets.UTF_8)));
            }
            producer.flush();
        }
        r.produceSeconds = (System.nanoTime() - t0) / 1e9;
    }

    private static double bare(Admin admin, String bootstrap, String q, int round, Map<TopicPartition, Long> ends, Path work)
            throws Exception {
        String group = "peer-" + q + "-" + round;
        Process peer = startPeer(bootstrap, group, q, work.resolve("peer-" + q + "-" + round));
        try {
            return rate(admin, group, ends, peer);
        } finally {
            peer.destroyForcibly();
            peer.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static Process startPeer(String bootstrap, String group, String query, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), HEAP,
                "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "--add-opens=java.base/java.util=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                BareFlinkPeer.class.getName(), bootstrap, "bid", group, query, dir.toString()));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("peer.log").toFile()).start();
    }

    /**
     * Events per second from the group's first committed offsets past 30% of the bids to its last record:
     * the job's steady rate, without its start-up and the JIT's warm-up (the peer's JVM is new each round,
     * the platform's is not).
     */
    private static double rate(Admin admin, String group, Map<TopicPartition, Long> ends, Process peer) throws Exception {
        long total = ends.values().stream().mapToLong(Long::longValue).sum();
        long firstAt = 0;
        long firstCommitted = 0;
        long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
        while (System.nanoTime() < deadline) {
            if (peer != null && !peer.isAlive()) {
                throw new IllegalStateException("the bare peer exited with " + peer.exitValue() + "; see its peer.log");
            }
            long committed = committed(admin, group);
            long now = System.nanoTime();
            if (committed >= total * 0.3 && firstAt == 0) {
                firstAt = now;
                firstCommitted = committed;
            }
            if (committed >= total) {
                if (firstCommitted >= total) {
                    throw new IllegalStateException(group + " read the last 70% of the bids within one checkpoint; produce more bids");
                }
                return (total - firstCommitted) / ((now - firstAt) / 1e9);
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException(group + " did not read all " + total + " bids within 15 minutes");
    }

    private static long committed(Admin admin, String group) throws Exception {
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(10, TimeUnit.SECONDS);
            return offsets.values().stream().filter(o -> o != null).mapToLong(OffsetAndMetadata::offset).sum();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return 0;
            }
            throw e;
        }
    }

    private static void deleteGroup(Admin admin, String group) throws Exception {
        try {
            admin.deleteConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                throw e;
            }
        }
    }

    private static Map<TopicPartition, Long> endOffsets(Admin admin, String topic) throws Exception {
        int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
        Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
        for (int p = 0; p < partitions; p++) {
            request.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        Map<TopicPartition, Long> ends = new LinkedHashMap<>();
        admin.listOffsets(request).all().get().forEach((tp, info) -> ends.put(tp, info.offset()));
        return ends;
    }

    private static void post(WatershedHttp http, String path) {
        WatershedHttp.Response response = http.post(path, new byte[0]);
        if (response.status() != 200) {
            throw new IllegalStateException(path + " answered " + response.status() + ": " + response.body());
        }
    }

    private static long awaitCount(WatershedHttp http, String table, long expected, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long count = -1;
        while (System.nanoTime() < deadline) {
            WatershedHttp.Response response = http.sql("SELECT count(*) FROM " + table);
            if (response.status() == 200) {
                count = response.json().path("rows").get(0).get(0).asLong();
                if (count >= expected) {
                    return count;
                }
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException(table + " has " + count + " rows, not " + expected + ", after " + timeout);
    }

    static long percentile(List<Long> values, int p) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(Math.max(0, (int) Math.ceil(sorted.size() * p / 100.0) - 1));
    }

    static final class Results {
        long bids;
        double produceSeconds;
        final List<Long> live = new ArrayList<>();
        final List<Long> raw = new ArrayList<>();
        final Map<String, List<Double>> watershed = new LinkedHashMap<>();
        final Map<String, List<Double>> bare = new LinkedHashMap<>();
        final Map<String, Long> outputRows = new LinkedHashMap<>();
        long peakRssMb;

        String markdown() throws IOException {
            StringBuilder md = new StringBuilder();
            md.append("Generated by `bench/run speed` (`SpeedLayerBenchmark`). One run; Watershed is `watershed up` in its own JVM (`")
                    .append(HEAP).append("`), the bare peer a Flink MiniCluster in another JVM of the same size, never both at once; ")
                    .append(ROUNDS).append(" rounds, each side first in turn.\n\n");
            md.append("| Measure | Result | Target | Verdict |\n|---|---|---|---|\n");
            for (String q : QUERIES) {
                double w = Collections.max(watershed.get(q));
                double b = Collections.max(bare.get(q));
                BenchReport.headline("speed", String.format(Locale.ROOT, "Nexmark %s over %,d bids (peer: a bare Flink MiniCluster)", q, bids),
                        String.format(Locale.ROOT, "%,.0f events/s", w), String.format(Locale.ROOT, "%,.0f events/s", b), w / b, "≥ 0.90");
                md.append(String.format(Locale.ROOT, "| Nexmark %s over %,d bids: Watershed pipeline (best of %s) vs bare MiniCluster (best of %s) | %,.0f vs %,.0f events/s | ≥ 0.9× the bare rate | %.2f×: %s |%n",
                        q, bids, rounds(watershed.get(q)), rounds(bare.get(q)), w, b, w / b, w / b >= 0.9 ? "met" : "**not met**"));
            }
            md.append(String.format(Locale.ROOT, "| Acknowledged → visible in a live view (`live.marker_seen`, %d markers) | p50 %,d ms, p95 %,d ms, max %,d ms | p95 ≤ 1,000 ms | %s |%n",
                    live.size(), percentile(live, 50), percentile(live, 95), percentile(live, 100), percentile(live, 95) <= 1000 ? "met" : "**not met**"));
            md.append(String.format(Locale.ROOT, "| Acknowledged → visible in `raw.markers` through the fresh tail (same markers; commit interval 1 s) | p50 %,d ms, p95 %,d ms, max %,d ms | p95 ≤ 1,000 ms | %s |%n",
                    percentile(raw, 50), percentile(raw, 95), percentile(raw, 100), percentile(raw, 95) <= 1000 ? "met" : "**not met**"));
            md.append(String.format(Locale.ROOT, "| Peak RSS of the platform (VmHWM) over the run | %,d MB | — | — |%n", peakRssMb));
            md.append("\nReproduce: `bench/run speed [BIDS]` (default 2,000,000). The bids (Nexmark's shape, 10,000 per second of ")
                    .append("event time, half to a few hot auctions) are produced once into the stream `bid` and landed in the lake before ")
                    .append("any query runs. Each query then reads all of them from the start: in Watershed as the pipeline `")
                    .append("pipelines/q5.sql` (`INSERT INTO marts.nexmark_q5 ...`, restarted with `--reset` each round), on the peer ")
                    .append("with the same SELECT text over a Kafka table with `format = json` into a blackhole. Both run at Flink's default ")
                    .append("parallelism with checkpoints every second, exactly once; a rate is the records between a group's first ")
                    .append("committed offsets past 30% of the bids and its last record over the time between (start-up and JIT warm-up ")
                    .append("left out: the peer's JVM is new each round, the platform's is not). Rows in the output tables after all rounds (each round adds its own): ")
                    .append(outputRows.entrySet().stream().map(e -> e.getKey() + " " + String.format(Locale.ROOT, "%,d", e.getValue()))
                            .collect(Collectors.joining(", ")))
                    .append(". Freshness markers follow 50 filler events each; a marker counts as visible at the first query ")
                    .append("answer, after its acknowledgement, that holds it.\n");
            return md.toString();
        }

        private static String rounds(List<Double> values) {
            return values.stream().map(v -> String.format(Locale.ROOT, "%,.0f", v)).collect(Collectors.joining(" / "));
        }
    }
}
