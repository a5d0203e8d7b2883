package io.watershed.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watershed.testing.OpenSearchNode;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.WatershedHttp;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Log search beside a real OpenSearch 2.19 node in the same run: the same generated log events ({@link LogLines}) in both,
 * with equivalent mappings (message as text with the standard analyzer; level, service, host, user and trace_id as
 * keywords; time as a date), then 20 typical log queries over HTTP on both sides, each checked for equal hit counts,
 * top values and histograms.
 *
 * <ul>
 *   <li>Watershed: {@code watershed up} from the built distribution in its own JVM. The events are first put on the
 *       bus by a plain producer and committed to the lake while the stream has no {@code search:}; then the platform is
 *       restarted with {@code search:} declared and its indexer reads them all from the bus: its rate is from the first
 *       answer after the restart until a search counts every event.</li>
 *   <li>OpenSearch: {@link OpenSearchNode}, one shard, no replica, defaults otherwise (refresh each second, translog
 *       synced each request); {@code _bulk} requests of 5,000 events from 4 clients, until a refresh counts every event.</li>
 *   <li>Queries: each asks both engines for what Watershed's answer always holds: the exact total, the histogram over
 *       the searched span (Watershed's bucket width), the newest 50 hits with highlighted messages (none for the
 *       counting and top-value queries) and the top values asked for. OpenSearch's request cache is off, so every run
 *       is computed as Watershed's is. Warm-up runs first, then the two engines alternate.</li>
 * </ul>
 */
public final class SearchBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HEAP = "1g";
    private static final int BULK = 5_000;
    private static final int CLIENTS = 4;
    private static final int WARMUP = 3;
    private static final int RUNS = 20;
    private static final String KEYWORDS = "level, service, host, user, trace_id";

    /** One query in both languages. {@code from}/{@code to} are offsets into the day of events, null for none. */
    record Query(String kind, String q, Long from, Long to, List<String> top, int limit, ObjectNode openSearch) {}

    /** What one engine answered, reduced to what must agree. */
    record Answer(long total, Map<String, List<String>> top, Map<Long, Long> histogram, long intervalMillis) {}

    public static void main(String[] args) throws Exception {
        long events = args.length > 0 ? Long.parseLong(args[0]) : 10_000_000;
        Path out = Path.of(args.length > 1 ? args[1] : "docs/benchmarks.md");
        Path work = Files.createTempDirectory("watershed-bench-search");
        long day = Duration.ofDays(1).toMillis();
        long start = Instant.now().truncatedTo(ChronoUnit.HOURS).toEpochMilli() - day;
        Path lines = work.resolve("events.ndjson");
        long generating = System.nanoTime();
        LogLines.write(lines, events, start, day);
        long bytes = Files.size(lines);
        System.out.printf(Locale.ROOT, "generated %,d events (%,d bytes) in %.1f s%n", events, bytes, seconds(generating));

        Path project = work.resolve("project");
        Files.createDirectories(project.resolve("streams"));
        Files.writeString(project.resolve("watershed.yaml"), "name: searchbench\nhttp:\n  port: " + FoundationBenchmark.freePort()
                + "\nbus:\n  port: 0\n  plaintext: true\ningest:\n  forward_port: 0\nlake:\n  commit_interval: 5s\n");
        String stream = "partitions: 2\nevent_time: time\n";
        Files.writeString(project.resolve("streams/logs.yaml"), stream);
        String distribution = "watershed-cli/target/watershed-cli.jar:watershed-cli/target/lib/*";
        Path data = work.resolve("data");
        Path log = work.resolve("platform.log");
        List<String> jvm = List.of("-Xmx" + HEAP);

        // 1. the events onto the bus and into the lake, with no search index yet
        double produceSeconds;
        try (PlatformProcess platform = PlatformProcess.start(project, data, log, jvm, distribution)) {
            WatershedHttp http = platform.http();
            long producing = System.nanoTime();
            try (KafkaProducer<byte[], byte[]> producer = FoundationBenchmark.rawProducer(platform.bootstrapServers());
                    BufferedReader in = Files.newBufferedReader(lines, StandardCharsets.UTF_8)) {
                String line;
                while ((line = in.readLine()) != null) {
                    producer.send(new ProducerRecord<>("logs", line.getBytes(StandardCharsets.UTF_8)));
                }
            }
            produceSeconds = seconds(producing);
            await("the lake to commit every event", Duration.ofMinutes(30), Duration.ofSeconds(2),
                    () -> http.count("SELECT count(*) FROM committed.raw.logs") >= events);
            System.out.printf(Locale.ROOT, "on the bus in %.1f s, in the lake after %.1f s%n", produceSeconds, seconds(producing));
            platform.stop(Duration.ofSeconds(120));
        }

        try (OpenSearchNode node = OpenSearchNode.start(work.resolve("opensearch"), HEAP)) {
            // 2. OpenSearch: _bulk from 4 clients until a refresh counts every event
            create(node);
            double openSearchRate = bulkLoad(node, lines, events);
            long openSearchBytes = JSON.readTree(node.send("GET", "/logs/_stats/store", null).body()).path("_all").path("primaries")
                    .path("store").path("size_in_bytes").asLong();
            System.out.printf(Locale.ROOT, "OpenSearch indexed %,.0f events/s (%,d MB)%n", openSearchRate, openSearchBytes >> 20);
            await("OpenSearch's merges to end", Duration.ofMinutes(10), Duration.ofSeconds(1), () -> JSON.readTree(node.send("GET", "/logs/_stats/merge", null)
                    .body()).path("_all").path("primaries").path("merges").path("current").asLong() == 0);

            // 3. Watershed: the same events, now declared searchable, indexed from the bus
            Files.writeString(project.resolve("streams/logs.yaml"), stream + "search:\n  text: [message]\n  keywords: [" + KEYWORDS + "]\n");
            try (PlatformProcess platform = PlatformProcess.start(project, data, log, jvm, distribution)) {
                WatershedHttp http = platform.http();
                long indexing = System.nanoTime();
                long before = Math.max(0, searchStats(http).path("documents").asLong());
                // the cheap document count first (a search counting millions each poll would slow the indexer), then searchable
                await("Watershed's indexer to add every event", Duration.ofMinutes(60), Duration.ofMillis(500),
                        () -> searchStats(http).path("documents").asLong() >= events);
                await("Watershed's index to count every event", Duration.ofMinutes(5), Duration.ofMillis(100),
                        () -> watershedTotal(http) == events);
                double watershedRate = (events - before) / seconds(indexing);
                long watershedBytes = searchStats(http).path("bytes").asLong();
                System.out.printf(Locale.ROOT, "Watershed indexed %,.0f events/s (%,d already in the index at the first answer; %,d MB)%n",
                        watershedRate, before, watershedBytes >> 20);

                // 4. the queries, both engines up
                List<Query> queries = queries(start, day);
                List<List<Double>> watershedTimes = new ArrayList<>();
                List<List<Double>> openSearchTimes = new ArrayList<>();
                List<Answer[]> answers = new ArrayList<>();
                HttpClient client = HttpClient.newHttpClient();
                for (Query query : queries) {
                    HttpRequest w = watershedRequest(platform, query, start);
                    Answer fromWatershed = watershedAnswer(send(client, w));
                    HttpRequest o = openSearchRequest(node, query, start, fromWatershed.intervalMillis());
                    Answer fromOpenSearch = openSearchAnswer(send(client, o));
                    answers.add(new Answer[] {fromWatershed, fromOpenSearch});
                    for (int i = 1; i < WARMUP; i++) {
                        send(client, w);
                        send(client, o);
                    }
                    List<Double> wt = new ArrayList<>();
                    List<Double> ot = new ArrayList<>();
                    for (int i = 0; i < RUNS; i++) {
                        wt.add(timed(client, w));
                        ot.add(timed(client, o));
                    }
                    watershedTimes.add(wt);
                    openSearchTimes.add(ot);
                    System.out.printf(Locale.ROOT, "%-45s hits %,d / %,d; p95 %.1f / %.1f ms%n", query.kind() + " " + query.q(),
                            fromWatershed.total(), fromOpenSearch.total(), percentile(wt, 95), percentile(ot, 95));
                }
                platform.stop(Duration.ofSeconds(120));
                String md = markdown(events, bytes, produceSeconds, watershedRate, before, watershedBytes, openSearchRate, openSearchBytes,
                        queries, answers, watershedTimes, openSearchTimes);
                BenchReport.writeSection(out, "SearchBenchmark", "Log search beside OpenSearch", md);
                System.out.println(md);
            }
        }
    }

    private static void create(OpenSearchNode node) {
        String mapping = """
                {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                 "mappings": {"dynamic": false, "properties": {
                   "time": {"type": "date"}, "message": {"type": "text"},
                   "level": {"type": "keyword"}, "service": {"type": "keyword"}, "host": {"type": "keyword"},
                   "user": {"type": "keyword"}, "trace_id": {"type": "keyword"}}}}""";
        HttpResponse<String> created = node.send("PUT", "/logs", mapping);
        if (created.statusCode() != 200) {
            throw new IllegalStateException("Cannot create the index: " + created.body());
        }
    }

    /** _bulk requests of 5,000 events from 4 clients, the bodies read from the file as they go; events/s until counted. */
    private static double bulkLoad(OpenSearchNode node, Path lines, long events) throws Exception {
        BlockingQueue<byte[]> bodies = new ArrayBlockingQueue<>(CLIENTS * 2);
        byte[] end = new byte[0];
        byte[] action = "{\"index\":{}}\n".getBytes(StandardCharsets.UTF_8);
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS + 1);
        long started = System.nanoTime();
        Future<?> reader = pool.submit(() -> {
            try (BufferedReader in = Files.newBufferedReader(lines, StandardCharsets.UTF_8)) {
                ByteArrayOutputStream body = new ByteArrayOutputStream(BULK * 300);
                int n = 0;
                String line;
                while ((line = in.readLine()) != null) {
                    body.write(action);
                    body.write(line.getBytes(StandardCharsets.UTF_8));
                    body.write('\n');
                    if (++n == BULK) {
                        bodies.put(body.toByteArray());
                        body.reset();
                        n = 0;
                    }
                }
                if (n > 0) {
                    bodies.put(body.toByteArray());
                }
            } finally {
                for (int c = 0; c < CLIENTS; c++) {
                    bodies.put(end);
                }
            }
            return null;
        });
        HttpClient client = HttpClient.newHttpClient();
        URI bulk = URI.create(node.url() + "/logs/_bulk");
        List<Future<?>> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            clients.add(pool.submit(() -> {
                byte[] body;
                while ((body = bodies.take()) != end) {
                    HttpResponse<String> response = client.send(HttpRequest.newBuilder(bulk).header("Content-Type", "application/x-ndjson")
                            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
                    if (response.statusCode() != 200 || response.body().startsWith("{\"took\":") && response.body().contains("\"errors\":true")) {
                        throw new IllegalStateException("_bulk answered " + response.statusCode() + ": "
                                + response.body().substring(0, Math.min(2000, response.body().length())));
                    }
                }
                return null;
            }));
        }
        reader.get();
        for (Future<?> f : clients) {
            f.get();
        }
        pool.shutdown();
        node.send("POST", "/logs/_refresh", null);
        long count = JSON.readTree(node.send("GET", "/logs/_count", null).body()).path("count").asLong();
        if (count != events) {
            throw new IllegalStateException("OpenSearch counts " + count + " of " + events + " events after the refresh");
        }
        return events / seconds(started);
    }

    static List<Query> queries(long start, long day) {
        long hour = Duration.ofHours(1).toMillis();
        List<Query> q = new ArrayList<>();
        q.add(query("term (text)", "timeout", null, null, List.of(), 50, match("timeout")));
        q.add(query("term (text), rare", "deadlock", null, null, List.of(), 50, match("deadlock")));
        q.add(query("term (keyword)", "level:ERROR", null, null, List.of(), 50, term("level", "ERROR")));
        q.add(query("phrase", "\"connection refused\"", null, null, List.of(), 50, phrase("connection refused")));
        q.add(query("phrase, three words", "\"transaction rolled back\"", null, null, List.of(), 50, phrase("transaction rolled back")));
        q.add(query("wildcard (text)", "time*", null, null, List.of(), 50, wildcard("message", "time*")));
        q.add(query("leading wildcard (text)", "*exception", null, null, List.of(), 50, wildcard("message", "*exception")));
        q.add(query("wildcard (keyword)", "host:web-1*", null, null, List.of(), 50, wildcard("host", "web-1*")));
        q.add(query("boolean AND", "level:ERROR AND service:checkout", null, null, List.of(), 50,
                bool(List.of(), List.of(term("level", "ERROR"), term("service", "checkout")), List.of())));
        q.add(query("boolean OR in AND", "level:(WARN OR ERROR) AND host:web-07", null, null, List.of(), 50,
                bool(List.of(terms("level", "WARN", "ERROR")), List.of(term("host", "web-07")), List.of())));
        q.add(query("boolean NOT", "level:ERROR AND NOT service:auth", null, null, List.of(), 50,
                bool(List.of(), List.of(term("level", "ERROR")), List.of(term("service", "auth")))));
        q.add(query("keyword AND words", "service:payments AND (timeout OR refused OR declined)", null, null, List.of(), 50,
                bool(List.of(should(match("timeout"), match("refused"), match("declined"))), List.of(term("service", "payments")), List.of())));
        q.add(query("phrase AND keyword", "\"out of memory\" AND level:ERROR", null, null, List.of(), 50,
                bool(List.of(phrase("out of memory")), List.of(term("level", "ERROR")), List.of())));
        q.add(query("time range, last hour", "*", day - hour, day, List.of(), 50, all()));
        q.add(query("word in 6 hours", "error", 9 * hour, 15 * hour, List.of(), 50, match("error")));
        q.add(query("top values", "level:ERROR", null, null, List.of("service"), 0, term("level", "ERROR")));
        q.add(query("top values, all events", "*", null, null, List.of("level", "host"), 0, all()));
        q.add(query("top values in 6 hours", "timeout", day - 6 * hour, day, List.of("service", "host"), 0, match("timeout")));
        q.add(query("histogram", "level:WARN", null, null, List.of(), 0, term("level", "WARN")));
        q.add(query("histogram, all events", "*", null, null, List.of(), 0, all()));
        return q;
    }

    private static Query query(String kind, String q, Long from, Long to, List<String> top, int limit, ObjectNode openSearch) {
        return new Query(kind, q, from, to, top, limit, openSearch);
    }

    private static ObjectNode match(String word) {
        ObjectNode n = JSON.createObjectNode();
        n.putObject("match").put("message", word);
        return n;
    }

    private static ObjectNode phrase(String words) {
        ObjectNode n = JSON.createObjectNode();
        n.putObject("match_phrase").put("message", words);
        return n;
    }

    private static ObjectNode term(String field, String value) {
        ObjectNode n = JSON.createObjectNode();
        n.putObject("term").put(field, value);
        return n;
    }

    private static ObjectNode terms(String field, String... values) {
        ObjectNode n = JSON.createObjectNode();
        ArrayNode list = n.putObject("terms").putArray(field);
        for (String v : values) {
            list.add(v);
        }
        return n;
    }

    private static ObjectNode wildcard(String field, String pattern) {
        ObjectNode n = JSON.createObjectNode();
        n.putObject("wildcard").putObject(field).put("value", pattern);
        return n;
    }

    private static ObjectNode all() {
        ObjectNode n = JSON.createObjectNode();
        n.putObject("match_all");
        return n;
    }

    private static ObjectNode should(ObjectNode... clauses) {
        ObjectNode n = JSON.createObjectNode();
        ObjectNode bool = n.putObject("bool");
        ArrayNode list = bool.putArray("should");
        for (ObjectNode c : clauses) {
            list.add(c);
        }
        bool.put("minimum_should_match", 1);
        return n;
    }

    private static ObjectNode bool(List<ObjectNode> must, List<ObjectNode> filter, List<ObjectNode> mustNot) {
        ObjectNode n = JSON.createObjectNode();
        ObjectNode bool = n.putObject("bool");
        if (!must.isEmpty()) {
            must.forEach(bool.putArray("must")::add);
        }
        if (!filter.isEmpty()) {
            filter.forEach(bool.putArray("filter")::add);
        }
        if (!mustNot.isEmpty()) {
            mustNot.forEach(bool.putArray("must_not")::add);
        }
        return n;
    }

    private static HttpRequest watershedRequest(PlatformProcess platform, Query query, long start) {
        StringBuilder path = new StringBuilder("/v1/search?stream=logs&q=").append(URLEncoder.encode(query.q(), StandardCharsets.UTF_8))
                .append("&limit=").append(query.limit());
        if (query.from() != null) {
            path.append("&from=").append(start + query.from()).append("&to=").append(start + query.to());
        }
        if (!query.top().isEmpty()) {
            path.append("&top=").append(String.join(",", query.top()));
        }
        return HttpRequest.newBuilder(URI.create(platform.url() + path)).header("Authorization", "Bearer " + platform.adminToken())
                .timeout(Duration.ofMinutes(2)).GET().build();
    }

    /** The request for what Watershed answers: exact total, histogram with its bucket width, newest hits highlighted, top values. */
    private static HttpRequest openSearchRequest(OpenSearchNode node, Query query, long start, long intervalMillis) {
        ObjectNode body = JSON.createObjectNode();
        body.put("size", query.limit());
        body.put("track_total_hits", true);
        ObjectNode q = query.openSearch().deepCopy();
        if (query.from() != null) {
            ObjectNode range = JSON.createObjectNode();
            range.putObject("range").putObject("time").put("gte", start + query.from()).put("lt", start + query.to())
                    .put("format", "epoch_millis");
            q = bool(List.of(q), List.of(range), List.of());
        }
        body.set("query", q);
        ObjectNode aggs = body.putObject("aggs");
        ObjectNode histogram = aggs.putObject("histogram").putObject("date_histogram");
        histogram.put("field", "time").put("fixed_interval", intervalMillis + "ms").put("min_doc_count", 0);
        if (query.from() != null) {
            histogram.putObject("extended_bounds").put("min", start + query.from()).put("max", start + query.to() - 1);
        }
        for (String field : query.top()) {
            aggs.putObject("top_" + field).putObject("terms").put("field", field).put("size", 10);
        }
        if (query.limit() > 0) {
            body.putArray("sort").addObject().put("time", "desc");
            body.putObject("highlight").putObject("fields").putObject("message").put("number_of_fragments", 3).put("fragment_size", 200);
        }
        return HttpRequest.newBuilder(URI.create(node.url() + "/logs/_search?request_cache=false")).header("Content-Type", "application/json")
                .timeout(Duration.ofMinutes(2)).POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
    }

    private static Answer watershedAnswer(String body) throws IOException {
        JsonNode json = JSON.readTree(body);
        if (!json.has("total")) {
            throw new IllegalStateException("Watershed answered " + body);
        }
        Map<String, List<String>> top = new TreeMap<>();
        json.path("top").properties().forEach(e -> {
            List<String> values = new ArrayList<>();
            e.getValue().forEach(v -> values.add(v.path("value").asText() + "=" + v.path("count").asLong()));
            top.put(e.getKey(), values);
        });
        Map<Long, Long> histogram = new TreeMap<>();
        json.path("histogram").forEach(b -> {
            if (b.path("count").asLong() > 0) {
                histogram.put(Instant.parse(b.path("start").asText()).toEpochMilli(), b.path("count").asLong());
            }
        });
        return new Answer(json.path("total").asLong(), top, histogram, json.path("interval_ms").asLong());
    }

    private static Answer openSearchAnswer(String body) throws IOException {
        JsonNode json = JSON.readTree(body);
        if (!json.has("hits")) {
            throw new IllegalStateException("OpenSearch answered " + body);
        }
        Map<String, List<String>> top = new TreeMap<>();
        json.path("aggregations").properties().forEach(e -> {
            if (e.getKey().startsWith("top_")) {
                List<String> values = new ArrayList<>();
                e.getValue().path("buckets").forEach(v -> values.add(v.path("key").asText() + "=" + v.path("doc_count").asLong()));
                top.put(e.getKey().substring(4), values);
            }
        });
        Map<Long, Long> histogram = new TreeMap<>();
        json.path("aggregations").path("histogram").path("buckets").forEach(b -> {
            if (b.path("doc_count").asLong() > 0) {
                histogram.put(b.path("key").asLong(), b.path("doc_count").asLong());
            }
        });
        return new Answer(json.path("hits").path("total").path("value").asLong(), top, histogram, 0);
    }

    private static String send(HttpClient client, HttpRequest request) throws Exception {
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException(request.uri() + " answered " + response.statusCode() + ": " + response.body());
        }
        return response.body();
    }

    /** Milliseconds from sending the request to the last byte of its answer. */
    private static double timed(HttpClient client, HttpRequest request) throws Exception {
        long t = System.nanoTime();
        send(client, request);
        return (System.nanoTime() - t) / 1e6;
    }

    private static JsonNode searchStats(WatershedHttp http) {
        for (JsonNode s : http.get("/v1/streams").json().path("streams")) {
            if (s.path("name").asText().equals("logs")) {
                return s.path("search");
            }
        }
        return JSON.createObjectNode();
    }

    private static long watershedTotal(WatershedHttp http) {
        WatershedHttp.Response r = http.get("/v1/search?stream=logs&limit=0&q=");
        return r.status() == 200 ? r.json().path("total").asLong() : -1;
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    /** Polls every {@code poll} (the benchmark's own waits: Await's 50 ms polls would load the engines being measured). */
    private static void await(String what, Duration timeout, Duration poll, Condition condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Throwable last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (condition.holds()) {
                    return;
                }
            } catch (RuntimeException | IOException | AssertionError e) {
                last = e; // not there yet (the table is created by the first commit)
            }
            Thread.sleep(poll.toMillis());
        }
        throw new IllegalStateException("Timed out after " + timeout.toMinutes() + " min waiting for " + what, last);
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    static double percentile(List<Double> values, int p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(Math.max(0, (int) Math.ceil(sorted.size() * p / 100.0) - 1));
    }

    private static String markdown(long events, long bytes, double produceSeconds, double watershedRate, long before, long watershedBytes,
            double openSearchRate, long openSearchBytes, List<Query> queries, List<Answer[]> answers, List<List<Double>> watershedTimes,
            List<List<Double>> openSearchTimes) {
        List<Double> allWatershed = watershedTimes.stream().flatMap(List::stream).toList();
        List<Double> allOpenSearch = openSearchTimes.stream().flatMap(List::stream).toList();
        double indexRatio = watershedRate / openSearchRate;
        double p50Ratio = percentile(allWatershed, 50) / percentile(allOpenSearch, 50);
        double p95Ratio = percentile(allWatershed, 95) / percentile(allOpenSearch, 95);
        int faster = 0;
        double logRatios = 0;
        List<String> mismatches = new ArrayList<>();
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < queries.size(); i++) {
            Query query = queries.get(i);
            Answer w = answers.get(i)[0];
            Answer o = answers.get(i)[1];
            List<String> differ = new ArrayList<>();
            if (w.total() != o.total()) {
                differ.add("hits");
            }
            if (!w.top().equals(o.top())) {
                differ.add("top values");
            }
            if (!w.histogram().equals(o.histogram())) {
                differ.add("histogram");
            }
            if (!differ.isEmpty()) {
                mismatches.add(String.format(Locale.ROOT, "%d (%s): %s differ — Watershed %,d hits, top %s; OpenSearch %,d hits, top %s",
                        i + 1, query.kind(), String.join(", ", differ), w.total(), w.top(), o.total(), o.top()));
            }
            double wp95 = percentile(watershedTimes.get(i), 95);
            double op95 = percentile(openSearchTimes.get(i), 95);
            if (wp95 <= op95) {
                faster++;
            }
            logRatios += Math.log(wp95 / op95);
            String span = query.from() == null ? "" : String.format(Locale.ROOT, ", hours %d–%d", query.from() / 3_600_000, query.to() / 3_600_000);
            String asks = query.limit() > 0 ? "50 hits" : "counts";
            if (!query.top().isEmpty()) {
                asks += ", top " + String.join(", ", query.top());
            }
            rows.append(String.format(Locale.ROOT, "| %d | %s | `%s`%s | %s | %,d | %s | %.1f / %.1f | %.1f / %.1f | %.2f |%n", i + 1, query.kind(),
                    query.q().replace("|", "\\|"), span, asks, w.total(), differ.isEmpty() ? "yes" : "**no: " + String.join(", ", differ) + "**",
                    percentile(watershedTimes.get(i), 50), wp95, percentile(openSearchTimes.get(i), 50), op95, wp95 / op95));
        }
        BenchReport.headline("search", String.format(Locale.ROOT, "Log search indexing, %,d events (peer: OpenSearch 2.19 _bulk)", events),
                String.format(Locale.ROOT, "%,.0f events/s", watershedRate), String.format(Locale.ROOT, "%,.0f events/s", openSearchRate),
                indexRatio, "≥ 1.00");
        BenchReport.headline("search", String.format(Locale.ROOT, "Log search query p95, 20 queries × %d runs over %,d events (peer: OpenSearch 2.19)",
                RUNS, events), String.format(Locale.ROOT, "%.1f ms", percentile(allWatershed, 95)),
                String.format(Locale.ROOT, "%.1f ms", percentile(allOpenSearch, 95)), p95Ratio, "≤ 1.00");
        StringBuilder md = new StringBuilder();
        md.append(String.format(Locale.ROOT, """
                Generated by `bench/run search` (`SearchBenchmark`). %,d generated application log events (%,d bytes, %,.0f bytes each on \
                average; a day of times, 4 levels, 12 services, 40 hosts, 50,000 users, a random trace id and a message from templates with \
                error phrases) loaded into both engines with equivalent mappings: `message` text (standard analyzer), `%s` keywords, `time` \
                a date. Watershed is `watershed up` from the built distribution (`-Xmx%s`) with `search: {text: [message], keywords: [%s]}` \
                and `event_time: time`; OpenSearch 2.19.1 is one node of `OpenSearchNode` (`-Xmx%s`), index `logs` with one shard and no \
                replica. Both run on this machine beside the benchmark's client.

                | Measure | Watershed | OpenSearch | Watershed ÷ OpenSearch | Target | Verdict |
                |---|---|---|---|---|---|
                | Indexing rate | %,.0f events/s | %,.0f events/s | %.2f | ≥ 1.00 | %s |
                | Index size on disk | %,d MB | %,d MB | %.2f | — | — |
                | Query latency p50, all 20 queries × %d runs | %.1f ms | %.1f ms | %.2f | — | — |
                | Query latency p95, all 20 queries × %d runs | %.1f ms | %.1f ms | %.2f | ≤ 1.00 | %s |
                | Query latency p95 per query: geometric mean of the 20 ratios | | | %.2f | — | — |
                | Queries whose p95 is at most OpenSearch's | %d of 20 | | | | |
                | Queries where hits, top values and histogram agree | %d of 20 | | | | |

                """, events, bytes, (double) bytes / events, KEYWORDS.replace(", ", "`, `"), HEAP, KEYWORDS, HEAP,
                watershedRate, openSearchRate, indexRatio, indexRatio >= 1 ? "met" : "**not met**",
                watershedBytes >> 20, openSearchBytes >> 20, (double) watershedBytes / Math.max(1, openSearchBytes),
                RUNS, percentile(allWatershed, 50), percentile(allOpenSearch, 50), p50Ratio,
                RUNS, percentile(allWatershed, 95), percentile(allOpenSearch, 95), p95Ratio, p95Ratio <= 1 ? "met" : "**not met**",
                Math.exp(logRatios / queries.size()), faster, queries.size() - mismatches.size()));
        md.append("| # | Query | Watershed `q` | Asks for | Hits | Same in both | Watershed p50 / p95 ms | OpenSearch p50 / p95 ms | p95 ÷ |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        md.append(rows);
        md.append('\n');
        if (!mismatches.isEmpty()) {
            md.append("Answers that differ:\n\n");
            mismatches.forEach(m -> md.append("- ").append(m).append('\n'));
            md.append('\n');
        }
        md.append(String.format(Locale.ROOT, """
                How it was measured. **Indexing, Watershed**: the events were put on the bus by a plain Kafka producer (%.1f s) and committed \
                to the lake while the stream had no `search:`; the platform was then restarted with `search:` declared, and its indexer (one \
                thread per stream, a commit with the bus offsets every second) read them from the bus: the rate runs from the first answer after \
                the restart (%,d events were already in the index then) until a search counts them all. It is the indexer's rate from events \
                already on the bus, not ingest to searchable. **Indexing, OpenSearch**: `_bulk` requests of %,d events from %d clients, the \
                bodies read from the same file as they go, until all are acknowledged, a `_refresh` and a `_count` of them all; OpenSearch's \
                defaults otherwise (refresh each second, translog synced at each request). **Queries**: over HTTP on both sides, one at a \
                time from the benchmark's JVM, timed from sending to the last byte of the answer: Watershed's `GET /v1/search` and OpenSearch's \
                `POST /logs/_search?request_cache=false` asking for what Watershed's answer always holds — the exact total \
                (`track_total_hits`), the histogram over the searched span with Watershed's bucket width (`date_histogram`), the newest 50 hits \
                by time with highlighted messages (\"50 hits\"; none for \"counts\"), and `terms` aggregations of 10 for the top values. Text \
                queries are `match`/`match_phrase`/`wildcard` on `message`, keyword ones `term`/`terms`/`wildcard`, combined in a `bool`; a time \
                span is a `range` filter on `time`. %d warm-up runs of each query on each engine, then %d runs alternating the two. \
                OpenSearch's node query cache stays on, as Lucene's default query cache does in Watershed. Hits, top values and the \
                non-empty histogram buckets are compared for every query. Both engines share the machine's cores, but only one works at a \
                time.

                Reproduce: `bench/run search [EVENTS]` (default 10,000,000).
                """, produceSeconds, before, BULK, CLIENTS, WARMUP, RUNS));
        return md.toString();
    }
}
