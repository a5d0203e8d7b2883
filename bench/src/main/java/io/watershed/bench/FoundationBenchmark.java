package io.watershed.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.WatershedHttp;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.tools.ProducerPerformance;

/**
 * The foundation benchmark, run against {@code watershed up} in its own JVM (as users run it), side by
 * side with Kafka's own producer perf tool on the same embedded broker in the same run. Writes
 * {@code docs/benchmarks.md}.
 *
 * <p>Phases: cold start to first HTTP answer, and idle RSS; kafka-producer-perf-test (256-byte
 * records, acks=all, idempotent); HTTP NDJSON ingest of the same records; lake writer throughput and
 * lag while a raw producer floods a stream; acknowledged → queryable latency; peak RSS.
 */
public final class FoundationBenchmark {
    private static final int RECORD_SIZE = 256;

    public static void main(String[] args) throws Exception {
        long records = args.length > 0 ? Long.parseLong(args[0]) : 1_000_000;
        Path out = Path.of(args.length > 1 ? args[1] : "docs/benchmarks.md");
        Path work = Files.createTempDirectory("watershed-bench");
        Results r = new Results();
        int port = freePort();
        Path project = work.resolve("project");
        Files.createDirectories(project.resolve("streams"));
        Files.writeString(project.resolve("watershed.yaml"),
                "name: bench\nhttp:\n  port: " + port + "\nbus:\n  port: 0\n  plaintext: true\ningest:\n  forward_port: 0\nlake:\n  commit_interval: 5s\n");
        Files.writeString(project.resolve("streams/ingest.yaml"), "name: ingest\npartitions: 2\n");
        Files.writeString(project.resolve("streams/peer.yaml"), "name: peer\npartitions: 2\n");
        Path payloads = work.resolve("payloads.ndjson");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            lines.append(event(i)).append('\n');
        }
        Files.writeString(payloads, lines);
        Files.writeString(project.resolve("streams/lakebench.yaml"), "name: lakebench\npartitions: 2\n");
        Files.writeString(project.resolve("streams/latency.yaml"), "name: latency\npartitions: 2\n");
        Files.writeString(project.resolve("streams/paced.yaml"), "name: paced\npartitions: 2\n");

        // 1. cold start: process spawn → first 200 from /v1/health
        long spawn = System.nanoTime();
        AtomicLong firstHealthy = new AtomicLong();
        Thread poller = new Thread(() -> {
            HttpClient c = HttpClient.newHttpClient();
            while (firstHealthy.get() == 0) {
                try {
                    HttpResponse<Void> h = c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/health")).build(),
                            HttpResponse.BodyHandlers.discarding());
                    if (h.statusCode() == 200) {
                        firstHealthy.set(System.nanoTime());
                    }
                } catch (Exception e) {
                    Thread.onSpinWait();
                }
            }
        });
        poller.start();
        // the platform runs from the built distribution, exactly as ./watershed runs it
        String distribution = "watershed-cli/target/watershed-cli.jar:watershed-cli/target/lib/*";
        try (PlatformProcess platform = PlatformProcess.start(project, work.resolve("data"), work.resolve("platform.log"),
                List.of("-Xmx1g"), distribution)) {
            poller.join();
            r.startupMillis = (firstHealthy.get() - spawn) / 1_000_000;
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            awaitIdle(http);
            r.idleRssMb = rssMb(platform.pid(), "VmRSS");
            System.out.printf("startup %d ms, idle RSS %d MB%n", r.startupMillis, r.idleRssMb);

            // 2. the peer: Kafka's own producer perf tool on the same broker, same producer settings as ingest
            // 3. HTTP NDJSON ingest of the same events; two interleaved rounds of each, the best of each counts
            for (int round = 1; round <= 2; round++) {
                double peer = producerPerfTest(platform.bootstrapServers(), records, payloads);
                awaitCount(http, "committed.raw.peer", records * round, Duration.ofMinutes(5));
                double viaHttp = httpIngest(platform.url(), platform.adminToken(), "ingest", records, (round - 1) * records);
                awaitCount(http, "committed.raw.ingest", records * round, Duration.ofMinutes(5));
                System.out.printf("round %d: kafka-producer-perf-test %.0f records/s, HTTP ingest %.0f events/s%n", round, peer, viaHttp);
                r.peerRounds.add(peer);
                r.httpRounds.add(viaHttp);
            }
            r.peerEventsPerSecond = Collections.max(r.peerRounds);
            r.httpEventsPerSecond = Collections.max(r.httpRounds);

            // 4. the lake writer against a flood from a raw producer
            lakeWriter(platform, http, records * 2, r);
            System.out.printf("lake writer: %.0f rows/s, peak lag %d, final lag %d%n", r.lakeRowsPerSecond, r.lakePeakLag, r.lakeFinalLag);
            lakeWriterPaced(platform, http, r);
            System.out.printf("lake writer at %.0f events/s: lag samples %s, drained %.1f s after the last event%n", r.pacedRate,
                    r.pacedSamples, r.pacedDrainSeconds);

            // 5. acknowledged → queryable
            latency(http, r);
            System.out.printf("ack→queryable p50 %d ms, p95 %d ms, max %d ms%n", r.latencyP50, r.latencyP95, r.latencyMax);

            r.peakRssMb = rssMb(platform.pid(), "VmHWM");
            System.out.printf("peak RSS %d MB%n", r.peakRssMb);
            platform.stop(Duration.ofSeconds(60));
        }
        BenchReport.writeSection(out, "FoundationBenchmark", "Foundation: ingest and the lake", r.markdown(records));
        System.out.println("wrote " + out);
    }

    /**
     * kafka-producer-perf-test into the declared stream {@code peer}, with the same 256-byte JSON events
     * the HTTP phase sends (from a payload file), so the platform's lake writer lands the peer's records
     * too: both sides carry the same downstream work.
     */
    private static double producerPerfTest(String bootstrap, long records, Path payloads) throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        Exit.setExitProcedure((code, message) -> {
            throw new IllegalStateException("kafka-producer-perf-test exited " + code + ": " + message);
        });
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            ProducerPerformance.main(new String[] {"--topic", "peer", "--num-records", String.valueOf(records),
                    "--payload-file", payloads.toString(), "--throughput", "-1", "--producer-props",
                    "bootstrap.servers=" + bootstrap, "acks=all", "enable.idempotence=true", "linger.ms=5", "batch.size=262144",
                    "compression.type=lz4"});
        } finally {
            System.setOut(original);
            Exit.resetExitProcedure();
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("(\\d+) records sent, ([\\d.]+) records/sec").matcher(output);
        double last = -1;
        long sent = -1;
        while (m.find()) {
            sent = Long.parseLong(m.group(1));
            last = Double.parseDouble(m.group(2));
        }
        if (sent != records) {
            throw new IllegalStateException("kafka-producer-perf-test sent " + sent + " of " + records + ":\n" + output);
        }
        return last;
    }

    /** A 256-byte JSON event. */
    static String event(long id) {
        String event = "{\"id\":\"%012d\",\"user\":\"u%04d\",\"page\":\"/product/%05d\",\"pad\":\"%s\"}";
        String pad = "x".repeat(RECORD_SIZE - String.format(event, 0, 0, 0, "").length());
        return String.format(Locale.ROOT, event, id, id % 1000, id % 50000, pad);
    }

    /**
     * 256-byte JSON events as NDJSON, 1000 per request, from 4 concurrent clients; ids from {@code firstId}.
     * The bodies are built before the clock starts, as the peer's records are: the measure is the platform,
     * not the load generator.
     */
    static double httpIngest(String url, String token, String stream, long records, long firstId) throws Exception {
        return httpIngest(url, token, stream, records, firstId, false);
    }

    /** @param keyed each request carries an Idempotency-Key (published in one Kafka transaction with it) */
    static double httpIngest(String url, String token, String stream, long records, long firstId, boolean keyed) throws Exception {
        int perRequest = 1000;
        int clients = 4;
        List<byte[]> bodies = new ArrayList<>();
        for (long first = firstId; first < firstId + records; first += perRequest) {
            StringBuilder body = new StringBuilder(perRequest * (RECORD_SIZE + 1));
            for (long id = first; id < Math.min(first + perRequest, firstId + records); id++) {
                body.append(event(id)).append('\n');
            }
            bodies.add(body.toString().getBytes(StandardCharsets.UTF_8));
        }
        HttpClient client = HttpClient.newBuilder().build();
        URI endpoint = URI.create(url + "/v1/streams/" + stream + "/events");
        AtomicLong next = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<?>> done = new ArrayList<>();
        long start = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            done.add(pool.submit(() -> {
                int index;
                while ((index = (int) next.getAndIncrement()) < bodies.size()) {
                    HttpRequest.Builder request = HttpRequest.newBuilder(endpoint).header("Authorization", "Bearer " + token)
                            .POST(HttpRequest.BodyPublishers.ofByteArray(bodies.get(index)));
                    if (keyed) {
                        request.header("Idempotency-Key", "bench-" + firstId + "-" + index);
                    }
                    HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
                    if (response.statusCode() != 200) {
                        throw new IllegalStateException("ingest answered " + response.statusCode() + ": " + response.body());
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        return records / ((System.nanoTime() - start) / 1e9);
    }

    /** A plain producer with the settings of Watershed's own ingest producer (acks=all, lz4, 256 KiB batches). */
    static KafkaProducer<byte[], byte[]> rawProducer(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, "262144");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Produces {@code records} straight into the stream's topic, at most {@code perSecond} a second (0: as fast as possible). */
    private static double produce(String bootstrap, String topic, long records, long perSecond) {
        long start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = rawProducer(bootstrap)) {
            for (long id = 0; id < records; id++) {
                if (perSecond > 0 && id % 1000 == 0) {
                    long due = start + id * 1_000_000_000L / perSecond;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(wait);
                    }
                }
                producer.send(new ProducerRecord<>(topic, event(id).getBytes(StandardCharsets.UTF_8)));
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** At a steady 100,000 events/s for 30 s: does the lake's lag stay bounded? */
    private static void lakeWriterPaced(PlatformProcess platform, WatershedHttp http, Results r) throws Exception {
        long rate = 100_000;
        long records = rate * 30;
        List<Long> samples = Collections.synchronizedList(new ArrayList<>());
        AtomicLong running = new AtomicLong(1);
        Thread sampler = lagSampler(http, "paced", samples, running);
        double seconds = produce(platform.bootstrapServers(), "paced", records, rate);
        long producedAt = System.nanoTime();
        awaitCount(http, "committed.raw.paced", records, Duration.ofMinutes(5));
        r.pacedDrainSeconds = (System.nanoTime() - producedAt) / 1e9;
        running.set(0);
        sampler.join();
        r.pacedRate = records / seconds;
        r.pacedSamples = new ArrayList<>(samples);
    }

    private static Thread lagSampler(WatershedHttp http, String stream, List<Long> samples, AtomicLong running) {
        Thread sampler = new Thread(() -> {
            while (running.get() != 0) {
                try {
                    for (JsonNode s : http.get("/v1/streams").json().path("streams")) {
                        if (s.path("name").asText().equals(stream)) {
                            samples.add(s.path("lake_lag").asLong());
                        }
                    }
                    Thread.sleep(1000);
                } catch (Exception e) {
                    return;
                }
            }
        });
        sampler.start();
        return sampler;
    }

    /** Floods the stream with {@code records} from a raw producer as fast as it goes; how fast does the lake take them? */
    private static void lakeWriter(PlatformProcess platform, WatershedHttp http, long records, Results r) throws Exception {
        List<Long> lagSamples = Collections.synchronizedList(new ArrayList<>());
        AtomicLong running = new AtomicLong(1);
        long start = System.nanoTime();
        Thread sampler = lagSampler(http, "lakebench", lagSamples, running);
        double produceSeconds = produce(platform.bootstrapServers(), "lakebench", records, 0);
        awaitCount(http, "committed.raw.lakebench", records, Duration.ofMinutes(10));
        double seconds = (System.nanoTime() - start) / 1e9;
        running.set(0);
        sampler.join();
        r.lakeRecords = records;
        r.lakeProduceSeconds = produceSeconds;
        r.lakeSeconds = seconds;
        r.lakeRowsPerSecond = records / seconds;
        r.lakePeakLag = lagSamples.stream().mapToLong(Long::longValue).max().orElse(0);
        r.lakeFinalLag = lagSamples.isEmpty() ? 0 : lagSamples.get(lagSamples.size() - 1);
        r.lakeLagSamples = new ArrayList<>(lagSamples);
    }

    /** A steady 2,000 events/s with 100 markers; each marker's ack time against the moment a query first sees it. */
    private static void latency(WatershedHttp http, Results r) throws Exception {
        Map<Long, Long> ackedAt = new ConcurrentHashMap<>();
        Map<Long, Long> latencies = new ConcurrentHashMap<>();
        int markers = 100;
        Thread watcher = new Thread(() -> {
            while (latencies.size() < markers) {
                try {
                    JsonNode result = http.query("SELECT marker FROM raw.latency WHERE marker IS NOT NULL");
                    long now = System.nanoTime(); // when the answer arrived: a marker acknowledged during the query counts its whole time
                    for (JsonNode row : result.path("rows")) {
                        long marker = row.get(0).asLong();
                        Long acked = ackedAt.get(marker);
                        if (acked != null) {
                            latencies.putIfAbsent(marker, (now - acked) / 1_000_000);
                        }
                    }
                } catch (RuntimeException | AssertionError e) {
                    // the marker column appears with the first committed marker
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        watcher.start();
        String filler = "{\"kind\":\"filler\",\"pad\":\"" + "f".repeat(200) + "\"}\n";
        for (long m = 0; m < markers; m++) {
            http.events("latency", filler.repeat(199));
            if (http.events("latency", "{\"marker\":" + m + "}").status() == 200) {
                ackedAt.put(m, System.nanoTime());
            }
            Thread.sleep(100);
        }
        watcher.join(Duration.ofMinutes(2).toMillis());
        List<Long> sorted = new ArrayList<>(latencies.values());
        Collections.sort(sorted);
        r.latencySamples = sorted.size();
        r.latencyP50 = sorted.get(sorted.size() / 2);
        r.latencyP95 = sorted.get((int) Math.ceil(sorted.size() * 0.95) - 1);
        r.latencyMax = sorted.get(sorted.size() - 1);
    }

    private static void awaitCount(WatershedHttp http, String table, long expected, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (http.count("SELECT count(*) FROM " + table) >= expected) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(table + " did not reach " + expected + " rows within " + timeout);
    }

    private static void awaitIdle(WatershedHttp http) throws InterruptedException {
        // let start-up work (first commits, JIT, DuckDB load) settle before reading idle RSS
        http.query("SELECT 1");
        Thread.sleep(15_000);
    }

    static long rssMb(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("\\D+", "")) / 1024;
            }
        }
        throw new IllegalStateException("no " + field + " for pid " + pid);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static final class Results {
        long startupMillis;
        long idleRssMb;
        long peakRssMb;
        double peerEventsPerSecond;
        double httpEventsPerSecond;
        List<Double> peerRounds = new ArrayList<>();
        List<Double> httpRounds = new ArrayList<>();
        long lakeRecords;
        double lakeProduceSeconds;
        double lakeSeconds;
        double lakeRowsPerSecond;
        long lakePeakLag;
        long lakeFinalLag;
        List<Long> lakeLagSamples = List.of();
        double pacedRate;
        double pacedDrainSeconds;
        List<Long> pacedSamples = List.of();
        int latencySamples;
        long latencyP50;
        long latencyP95;
        long latencyMax;

        String markdown(long records) throws IOException {
            double ratio = httpEventsPerSecond / peerEventsPerSecond;
            StringBuilder md = new StringBuilder();
            BenchReport.headline("foundation", String.format(Locale.ROOT, "HTTP NDJSON ingest of %,d events (peer: Kafka's producer perf tool)",
                    records), String.format(Locale.ROOT, "%,.0f events/s", httpEventsPerSecond),
                    String.format(Locale.ROOT, "%,.0f records/s", peerEventsPerSecond), ratio, "≥ 0.40");
            md.append("Generated by `bench/run foundation` (`FoundationBenchmark`). One run; the platform ")
                    .append("is `watershed up` in its own JVM (`-Xmx1g`), the load and the peer tool run in the benchmark's JVM on the same machine.\n\n");
            md.append("| Measure | Result | Target | Verdict |\n|---|---|---|---|\n");
            md.append(String.format(Locale.ROOT, "| HTTP NDJSON ingest, %,d × %d-byte JSON events, acks=all (best of %s) | %,.0f events/s | ≥ 40%% of the peer | %.0f%% of the peer: %s |%n",
                    records, RECORD_SIZE, rounds(httpRounds), httpEventsPerSecond, ratio * 100, ratio >= 0.4 ? "met" : "**not met**"));
            md.append(String.format(Locale.ROOT, "| Peer: `kafka-producer-perf-test`, same broker, same events (payload file), same producer settings, into a stream the lake writer also lands (best of %s) | %,.0f records/s | — | — |%n",
                    rounds(peerRounds), peerEventsPerSecond));
            md.append(String.format(Locale.ROOT, "| Lake writer flooded: %,d events from a raw producer as fast as it goes, until all are committed to the lake | %,.0f rows/s end to end (produced in %.1f s, all committed after %.1f s) | — | informational: the producer and the writer share the 2 cores, so this is bounded by both |%n",
                    lakeRecords, lakeRowsPerSecond, lakeProduceSeconds, lakeSeconds));
            md.append(String.format(Locale.ROOT, "| Lake lag while flooding (peak → last sample) | %,d → %,d records | — | samples each second: %s |%n",
                    lakePeakLag, lakeFinalLag, abbreviate(lakeLagSamples)));
            long firstHalfMax = pacedSamples.subList(0, pacedSamples.size() / 2).stream().mapToLong(Long::longValue).max().orElse(0);
            long secondHalfMax = pacedSamples.subList(pacedSamples.size() / 2, pacedSamples.size()).stream().mapToLong(Long::longValue).max().orElse(0);
            boolean bounded = secondHalfMax <= Math.max(firstHalfMax * 1.25, pacedRate * 7) && pacedDrainSeconds <= 10;
            md.append(String.format(Locale.ROOT, "| Lake writer at a steady %,.0f events/s for 30 s: lag each second | max %,d (first half) / %,d (second half); all committed %.1f s after the last event | ≥ 100,000 events/s without growing lag | %s — samples: %s |%n",
                    pacedRate, firstHalfMax, secondHalfMax, pacedDrainSeconds, bounded && pacedRate >= 95_000 ? "met" : "**not met**",
                    abbreviate(pacedSamples)));
            md.append(String.format(Locale.ROOT, "| Acknowledged → queryable in `raw.latency` (%d markers; commit interval 5 s, read with the fresh tail) | p50 %,d ms, p95 %,d ms, max %,d ms | p95 ≤ 10,000 ms | %s |%n",
                    latencySamples, latencyP50, latencyP95, latencyMax, latencyP95 <= 10_000 ? "met" : "**not met**"));
            md.append(String.format(Locale.ROOT, "| Cold start: process spawn → first HTTP 200 (5 declared streams, no class-data-sharing archive yet) | %,d ms | ≤ 10,000 ms | %s |%n",
                    startupMillis, startupMillis <= 10_000 ? "met" : "**not met**"));
            md.append(String.format(Locale.ROOT, "| Idle RSS (15 s after start) | %,d MB | ≤ 1,536 MB | %s |%n", idleRssMb, idleRssMb <= 1536 ? "met" : "**not met**"));
            md.append(String.format(Locale.ROOT, "| Peak RSS (VmHWM) over the whole run | %,d MB | — | — |%n", peakRssMb));
            md.append("\nReproduce: `bench/run foundation [RECORDS]` (default 1,000,000). The peer and HTTP ingest alternate, two rounds each; ")
                    .append("this VM's speed varies between runs by up to 2x, so only ratios within one run mean much. The peer runs in-process through ")
                    .append("`org.apache.kafka.tools.ProducerPerformance` with `acks=all enable.idempotence=true linger.ms=5 ")
                    .append("batch.size=262144 compression.type=lz4`, the settings of Watershed's own ingest producer. HTTP ingest posts ")
                    .append("NDJSON, 1,000 events per request from 4 client threads, bodies built before the clock starts; every event is ")
                    .append("parsed, stored byte for byte and acknowledged only once durable. All parts share the machine's cores with the load generators.\n");
            return md.toString();
        }

        private static String rounds(List<Double> values) {
            return values.stream().map(v -> String.format(Locale.ROOT, "%,.0f", v)).collect(java.util.stream.Collectors.joining(" / "));
        }

        private static String abbreviate(List<Long> samples) {
            if (samples.size() <= 12) {
                return samples.toString();
            }
            List<Long> head = samples.subList(0, 6);
            List<Long> tail = samples.subList(samples.size() - 6, samples.size());
            return head + " … " + tail;
        }
    }
}
