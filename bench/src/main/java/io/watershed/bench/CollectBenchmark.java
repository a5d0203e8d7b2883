package io.watershed.bench;

import io.watershed.testing.PlatformProcess;
import io.watershed.testing.WatershedHttp;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;

/**
 * Collection throughput: the Fluentd forward protocol and file tail, each beside HTTP NDJSON ingest of the same
 * 256-byte events in the same run, against {@code watershed up} from the built distribution in its own JVM.
 *
 * <ul>
 *   <li>HTTP: NDJSON, 1,000 events per request, 4 client threads; each request answered once durable.</li>
 *   <li>Forward: PackedForward messages of 1,000 events with a {@code chunk} id over 4 connections, each waiting
 *       for its ack (durable, and published in one Kafka transaction with the chunk id so a retry is not stored
 *       twice), as Fluentd's {@code require_ack_response} does.</li>
 *   <li>File tail: the events written to a file at once; the time until the source has published them all
 *       ({@code watershed_source_records_total}).</li>
 * </ul>
 * Rounds alternate the three; the best of each is reported, with the others.
 */
public final class CollectBenchmark {
    public static void main(String[] args) throws Exception {
        long records = args.length > 0 ? Long.parseLong(args[0]) : 500_000;
        Path out = Path.of(args.length > 1 ? args[1] : "docs/benchmarks.md");
        Path work = Files.createTempDirectory("watershed-bench-collect");
        Path logs = Files.createDirectories(work.resolve("logs"));
        Path project = work.resolve("project");
        Files.createDirectories(project.resolve("streams"));
        Files.writeString(project.resolve("watershed.yaml"), "name: collect\nhttp:\n  port: " + FoundationBenchmark.freePort()
                + "\nbus:\n  port: 0\ningest:\n  forward_port: 0\n  auto_create_streams: false\nlake:\n  commit_interval: 5s\n");
        Files.writeString(project.resolve("streams/viahttp.yaml"), "partitions: 2\n");
        Files.writeString(project.resolve("streams/viaforward.yaml"), "partitions: 2\nsources:\n  - type: forward\n    tags: [bench.**]\n");
        Files.writeString(project.resolve("streams/viafile.yaml"), "partitions: 2\nsources:\n  - type: file\n    paths: [" + logs
                + "/*.log]\n    format: json\n");
        String distribution = "watershed-cli/target/watershed-cli.jar:watershed-cli/target/lib/*";
        List<Double> http = new ArrayList<>();
        List<Double> keyed = new ArrayList<>();
        List<Double> forward = new ArrayList<>();
        List<Double> tail = new ArrayList<>();
        try (PlatformProcess platform = PlatformProcess.start(project, work.resolve("data"), work.resolve("platform.log"),
                List.of("-Xmx1g"), distribution)) {
            WatershedHttp api = new WatershedHttp(platform.url(), platform.adminToken());
            int port = api.get("/v1/sources").json().path("sources").get(0).path("listen").asText().replaceAll(".*:", "")
                    .transform(Integer::parseInt);
            // warm-up: JIT, topics, first commits
            // warm-up: JIT, topics, first commits
            long tailPublished = 0;
            for (int w = 0; w < 2; w++) {
                long first = 10_000_000_000L + w * 100_000L;
                FoundationBenchmark.httpIngest(platform.url(), platform.adminToken(), "viahttp", 100_000, first);
                FoundationBenchmark.httpIngest(platform.url(), platform.adminToken(), "viahttp", 100_000, first + 50_000_000_000L, true);
                forward(port, 100_000, first);
                tailPublished += 100_000;
                tail(api, logs.resolve("warmup" + w + ".log"), 100_000, first, tailPublished);
            }
            for (int round = 0; round < 3; round++) {
                long first = round * records;
                http.add(FoundationBenchmark.httpIngest(platform.url(), platform.adminToken(), "viahttp", records, first));
                keyed.add(FoundationBenchmark.httpIngest(platform.url(), platform.adminToken(), "viahttp", records, first + 20_000_000_000L, true));
                forward.add(forward(port, records, first));
                tailPublished += records;
                tail.add(tail(api, logs.resolve("round" + round + ".log"), records, first, tailPublished));
                System.out.printf(Locale.ROOT, "round %d: http %.0f, http keyed %.0f, forward %.0f, file tail %.0f events/s%n",
                        round + 1, http.get(round), keyed.get(round), forward.get(round), tail.get(round));
            }
        }
        double bestHttp = http.stream().mapToDouble(d -> d).max().orElseThrow();
        double bestForward = forward.stream().mapToDouble(d -> d).max().orElseThrow();
        double bestKeyed = keyed.stream().mapToDouble(d -> d).max().orElseThrow();
        double bestTail = tail.stream().mapToDouble(d -> d).max().orElseThrow();
        String md = String.format(Locale.ROOT, """
                Generated by `bench/run collect` (`CollectBenchmark`). `watershed up` in its own JVM (`-Xmx1g`) from the built
                distribution; the clients run in the benchmark's JVM on the same machine. %,d events of 256 bytes per round, after two
                warm-up rounds of 100,000; three rounds alternating the ways in; best (and every round).

                | Way in | Events/s, best | Rounds | vs HTTP |
                |---|---|---|---|
                | HTTP NDJSON, 1,000 per request, 4 clients, each answered once durable (the peer) | %,.0f | %s | 1.00 |
                | HTTP as above with an `Idempotency-Key` per request (one Kafka transaction each, as a forward chunk) | %,.0f | %s | %.2f |
                | Fluentd forward, PackedForward of 1,000 with `chunk`, 4 connections, each waiting for its `ack` | %,.0f | %s | %.2f |
                | File tail (`format: json`), a file written at once → every line published | %,.0f | %s | %.2f |

                Reproduce: `bench/run collect [EVENTS]` (default 500,000).
                """, records, bestHttp, rounds(http), bestKeyed, rounds(keyed), bestKeyed / bestHttp, bestForward, rounds(forward), bestForward / bestHttp, bestTail, rounds(tail),
                bestTail / bestHttp);
        BenchReport.headline("collect", String.format(Locale.ROOT, "Fluentd forward, %,d events of 256 bytes (peer: HTTP NDJSON ingest)",
                records), String.format(Locale.ROOT, "%,.0f events/s", bestForward), String.format(Locale.ROOT, "%,.0f events/s", bestHttp),
                bestForward / bestHttp, "—");
        BenchReport.headline("collect", String.format(Locale.ROOT, "File tail, %,d lines of 256 bytes (peer: HTTP NDJSON ingest)", records),
                String.format(Locale.ROOT, "%,.0f events/s", bestTail), String.format(Locale.ROOT, "%,.0f events/s", bestHttp),
                bestTail / bestHttp, "—");
        BenchReport.writeSection(out, "CollectBenchmark", "Collection: Fluentd forward and file tail beside HTTP", md);
        System.out.println(md);
    }

    private static String rounds(List<Double> values) {
        return String.join(" / ", values.stream().map(v -> String.format(Locale.ROOT, "%,.0f", v)).toList());
    }

    /** PackedForward chunks of 1,000 events over 4 connections; returns events/s until the last ack. */
    static double forward(int port, long records, long firstId) throws Exception {
        int perChunk = 1000;
        List<byte[]> messages = new ArrayList<>();
        for (long first = firstId; first < firstId + records; first += perChunk) {
            MessageBufferPacker entries = MessagePack.newDefaultBufferPacker();
            for (long id = first; id < Math.min(first + perChunk, firstId + records); id++) {
                entries.packArrayHeader(2).packLong(1_700_000_000L + id % 1000);
                // the same fields as the HTTP events: a map of four strings
                String event = FoundationBenchmark.event(id);
                String[] parts = event.substring(2, event.length() - 2).split("\",\"");
                entries.packMapHeader(parts.length);
                for (String part : parts) {
                    int colon = part.indexOf("\":\"");
                    entries.packString(part.substring(0, colon)).packString(part.substring(colon + 3));
                }
            }
            byte[] packed = entries.toByteArray();
            MessageBufferPacker message = MessagePack.newDefaultBufferPacker();
            message.packArrayHeader(3).packString("bench.forward").packBinaryHeader(packed.length).writePayload(packed)
                    .packMapHeader(1).packString("chunk").packString("bench-" + first);
            messages.add(message.toByteArray());
        }
        AtomicLong next = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> done = new ArrayList<>();
        long start = System.nanoTime();
        for (int c = 0; c < 4; c++) {
            done.add(pool.submit(() -> {
                try (Socket socket = new Socket("127.0.0.1", port)) {
                    OutputStream out = socket.getOutputStream();
                    MessageUnpacker in = MessagePack.newDefaultUnpacker(new BufferedInputStream(socket.getInputStream()));
                    int index;
                    while ((index = (int) next.getAndIncrement()) < messages.size()) {
                        out.write(messages.get(index));
                        out.flush();
                        in.unpackValue(); // {"ack": chunk}
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

    /** Writes the events to a new file at once; returns events/s until the source has published them all. */
    static double tail(WatershedHttp api, Path file, long records, long firstId, long publishedAfter) throws Exception {
        StringBuilder text = new StringBuilder();
        for (long id = firstId; id < firstId + records; id++) {
            text.append(FoundationBenchmark.event(id)).append('\n');
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(temporary, bytes, StandardOpenOption.CREATE_NEW);
        long start = System.nanoTime();
        Files.move(temporary, file); // appears whole, matched by *.log
        while (published(api) < publishedAfter) {
            Thread.sleep(20);
        }
        return records / ((System.nanoTime() - start) / 1e9);
    }

    private static long published(WatershedHttp api) throws IOException {
        for (String line : api.get("/metrics").body().split("\n")) {
            if (line.startsWith("watershed_source_records_total{source=\"viafile.file\"")) {
                return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }
}
