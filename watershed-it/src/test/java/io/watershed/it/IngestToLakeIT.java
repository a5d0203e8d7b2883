package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.lake.IcebergLake;
import io.watershed.server.Platform;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.Project;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ingest over HTTP into the real embedded broker, lake writer, Iceberg catalog and DuckDB, checked event by event. */
class IngestToLakeIT {
    @TempDir
    static Path root;

    static Project project;
    static Platform platform;
    static WatershedHttp http;

    @BeforeAll
    static void start() {
        project = TestProject.in(root.resolve("project"))
                .ingest("auto_create_streams", "false").yaml("query:\n  max_rows: 200000")
                .stream("events", "partitions: 3\nkey: user\n")
                .stream("evolving", "partitions: 1\n")
                .stream("misc", "partitions: 1\n")
                .stream("odd", "partitions: 1\n")
                .load();
        platform = Platform.start(project, root.resolve("data"));
        http = new WatershedHttp(platform.url(), platform.adminToken());
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    /** What the client was told about each event id. */
    enum Fate { LANDED, DEAD_LETTER, REFUSED }

    @Test
    void hundredThousandEventsLandExactlyOnceOrAreRefusedOrDeadLetteredWithAReason() throws Exception {
        int batches = 100;
        int perBatch = 1000;
        Map<Long, Fate> fates = new ConcurrentHashMap<>();
        // establish amount as an integer column before any conflicting value arrives
        assertThat(http.events("events", "{\"id\":-1,\"user\":\"seed\",\"amount\":0,\"pad\":\"\"}").status()).isEqualTo(200);
        Await.until("amount column committed", Duration.ofSeconds(30), () -> http.sql("SELECT amount FROM committed.raw.events").status() == 200);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> sends = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            int batch = b;
            sends.add(pool.submit(() -> sendBatch(batch, perBatch, fates)));
        }
        for (Future<?> send : sends) {
            send.get();
        }
        pool.shutdown();
        long expectedLanded = fates.values().stream().filter(f -> f == Fate.LANDED).count();
        long expectedDead = fates.values().stream().filter(f -> f == Fate.DEAD_LETTER).count();
        assertThat(fates).hasSize(batches * perBatch);
        assertThat(expectedDead).as("some events carry type conflicts").isPositive();
        assertThat(fates.values()).as("some batches carry malformed lines").contains(Fate.REFUSED);

        awaitLake(expectedLanded, expectedDead);
        assertExactlyOnce(fates);

        Await.until("lake lag 0 in /metrics", Duration.ofSeconds(30),
                () -> http.get("/metrics").body().contains("watershed_lake_lag_offsets{stream=\"events\"} 0.0"));
        String metrics = http.get("/metrics").body();
        assertThat(metrics)
                .contains("watershed_ingest_events_accepted_total{stream=\"events\"} " + (expectedLanded + expectedDead + 1) + ".0")
                .contains("watershed_lake_rows_written_total{stream=\"events\"} " + (expectedLanded + 1) + ".0")
                .contains("watershed_lake_dlq_rows_total{stream=\"events\"} " + expectedDead + ".0")
                .containsPattern("watershed_ingest_requests_rejected_total\\{reason=\"malformed\",stream=\"events\"} [1-9]");

        // an Idempotency-Key outlives a restart: it is kept in Kafka, in the same transaction as the events
        String keyed = "{\"id\":-2,\"user\":\"keyed\",\"amount\":1,\"pad\":\"\"}";
        assertThat(http.events("events", keyed, "Idempotency-Key", "survives-restart").status()).isEqualTo(200);

        // a graceful stop lands what the bus holds and commits it: the lake alone, with nothing running, has it all
        platform.close();
        try (IcebergLake lake = new IcebergLake(root.resolve("data").resolve("lake"))) {
            long rows = lake.tables().stream().filter(t -> t.qualifiedName().equals("raw.events"))
                    .flatMap(t -> t.files().stream()).mapToLong(LakeTableView.DataFile::rows).sum();
            assertThat(rows).as("seed, keyed and every landed event, committed by the stop").isEqualTo(expectedLanded + 2);
        }

        // a restart changes nothing: no row lost, none written twice
        platform = Platform.start(project, root.resolve("data"));
        http = new WatershedHttp(platform.url(), platform.adminToken());
        awaitLake(expectedLanded, expectedDead);
        assertExactlyOnce(fates);
        WatershedHttp.Response retried = http.events("events", keyed, "Idempotency-Key", "survives-restart");
        assertThat(retried.status()).isEqualTo(200);
        assertThat(retried.header("Idempotent-Replayed")).isEqualTo("true");
        Await.until("the keyed event", Duration.ofSeconds(30), () -> http.count("SELECT count(*) FROM raw.events WHERE id = -2") == 1);
    }

    /**
     * Every 7th batch has a malformed line (the whole batch must be refused); in every 5th batch every
     * 50th event has a string where the lake holds a number (it must land in the DLQ).
     */
    private static void sendBatch(int batch, int perBatch, Map<Long, Fate> fates) {
        StringBuilder body = new StringBuilder();
        boolean malformed = batch % 7 == 3;
        int badLine = 1 + (batch * 31) % perBatch;
        Map<Long, Fate> planned = new HashMap<>();
        for (int i = 0; i < perBatch; i++) {
            long id = (long) batch * perBatch + i;
            boolean conflict = batch % 5 == 1 && i % 50 == 49;
            if (malformed && i + 1 == badLine) {
                body.append("{\"id\": ").append(id).append(", \"user\": \"u").append(id % 97).append("\", \"amount\": }\n");
            } else {
                body.append("{\"id\":").append(id).append(",\"user\":\"u").append(id % 97).append("\",\"amount\":")
                        .append(conflict ? "\"lots\"" : String.valueOf(id % 1000)).append(",\"pad\":\"")
                        .append("x".repeat(120)).append("\"}\n");
            }
            planned.put(id, conflict ? Fate.DEAD_LETTER : Fate.LANDED);
        }
        WatershedHttp.Response response = http.events("events", body.toString());
        if (malformed) {
            assertThat(response.status()).as(response.body()).isEqualTo(400);
            JsonNode error = response.json().path("error");
            assertThat(error.path("code").asText()).isEqualTo("INVALID_INPUT");
            assertThat(error.path("line").asInt()).isEqualTo(badLine);
            assertThat(error.path("column").asInt()).isPositive();
            assertThat(error.path("reason").asText()).isNotBlank();
            planned.replaceAll((id, fate) -> Fate.REFUSED);
        } else {
            assertThat(response.status()).as(response.body()).isEqualTo(200);
            assertThat(response.json().path("accepted").asInt()).isEqualTo(perBatch);
        }
        fates.putAll(planned);
    }

    private static void awaitLake(long landed, long dead) {
        Await.until("the lake to hold " + landed + " rows and " + dead + " dead letters", Duration.ofSeconds(120),
                () -> http.count("SELECT count(*) FROM raw.events WHERE id >= 0") == landed
                        && http.count("SELECT count(*) FROM raw.events__dlq") == dead);
    }

    private static void assertExactlyOnce(Map<Long, Fate> fates) {
        List<Long> landed = new ArrayList<>();
        for (JsonNode row : http.query("SELECT id FROM raw.events WHERE id >= 0").path("rows")) {
            landed.add(row.get(0).asLong());
        }
        Set<Long> distinct = new HashSet<>(landed);
        assertThat(distinct).as("no event written twice").hasSameSizeAs(landed);
        Set<Long> expected = new HashSet<>();
        fates.forEach((id, fate) -> {
            if (fate == Fate.LANDED) {
                expected.add(id);
            }
        });
        assertThat(distinct).as("every acknowledged event landed, and nothing refused").isEqualTo(expected);

        List<Long> deadIds = new ArrayList<>();
        for (JsonNode row : http.query("SELECT CAST(json_extract(raw, '$.id') AS BIGINT), reason, _offset FROM raw.events__dlq").path("rows")) {
            deadIds.add(row.get(0).asLong());
            assertThat(row.get(1).asText()).isEqualTo("field 'amount': expected int, got string \"lots\"");
            assertThat(row.get(2).isNull()).isFalse();
        }
        Set<Long> expectedDead = new HashSet<>();
        fates.forEach((id, fate) -> {
            if (fate == Fate.DEAD_LETTER) {
                expectedDead.add(id);
            }
        });
        assertThat(new HashSet<>(deadIds)).hasSameSizeAs(deadIds).isEqualTo(expectedDead);
    }

    @Test
    void schemaEvolvesNewFieldsBecomeColumnsAndNumbersWidenIntToLongToDouble() {
        assertThat(http.events("evolving", "{\"k\":1,\"n\":5}\n{\"k\":2,\"n\":7}").status()).isEqualTo(200);
        Await.until("first rows", Duration.ofSeconds(30), () -> http.count("SELECT count(*) FROM raw.evolving") == 2);
        assertThat(http.query("SELECT n FROM raw.evolving").path("types").get(0).asText()).isEqualTo("INTEGER");

        assertThat(http.events("evolving", "{\"k\":3,\"n\":3000000000,\"extra\":{\"deep\":[1,2]},\"flag\":true}").status()).isEqualTo(200);
        Await.until("widened row", Duration.ofSeconds(30), () -> http.count("SELECT count(*) FROM raw.evolving") == 3);
        JsonNode result = http.query("SELECT k, n, extra, extra->>'$.deep[1]' AS deep, flag FROM raw.evolving ORDER BY k");
        assertThat(result.path("types").get(1).asText()).isEqualTo("BIGINT");
        assertThat(result.path("rows").toString()).isEqualTo(
                "[[1,5,null,null,null],[2,7,null,null,null],[3,3000000000,\"{\\\"deep\\\":[1,2]}\",\"2\",true]]");

        // long → double: Iceberg has no such promotion, so the table is rewritten in one commit; nothing lost or doubled
        assertThat(http.events("evolving", "{\"k\":4,\"n\":2.5}\n{\"k\":5,\"n\":9}").status()).isEqualTo(200);
        Await.until("rows after widening", Duration.ofSeconds(30), () -> http.count("SELECT count(*) FROM raw.evolving") == 5);
        JsonNode widened = http.query("SELECT k, n FROM raw.evolving ORDER BY k");
        assertThat(widened.path("types").get(1).asText()).isEqualTo("DOUBLE");
        assertThat(widened.path("rows").toString()).isEqualTo("[[1,5.0],[2,7.0],[3,3.0E9],[4,2.5],[5,9.0]]");
        assertThat(http.count("SELECT count(*) FROM raw.evolving__dlq")).isZero();
    }

    @Test
    void oddFieldNamesAndValuesNeverStopTheStreamOrBreakSql() {
        String body = """
                {"k":1,"user-id":"a-1","Size":2,"1st place":true,"naïve":"ok","x":1.5}
                {"k":2,"a.b":1}
                {"k":3,"size":5}
                {"k":4,"x":1e400}
                {"k":5,"_offset":3}
                {"k":6,"user-id":"b-2","Size":3}
                """;
        assertThat(http.events("odd", body).status()).isEqualTo(200);
        Await.until("odd rows and dead letters", Duration.ofSeconds(30),
                () -> http.count("SELECT count(*) FROM raw.odd") == 4 && http.count("SELECT count(*) FROM raw.odd__dlq") == 2);
        // a dotted name and a case twin land in columns of safe names (FieldColumns)
        JsonNode rows = http.query("SELECT k, \"user-id\", \"Size\", \"1st place\", \"naïve\", x, a_b, size_2 FROM raw.odd ORDER BY k");
        assertThat(rows.path("rows").toString()).isEqualTo("[[1,\"a-1\",2,true,\"ok\",1.5,null,null],[2,null,null,null,null,null,1,null],"
                + "[3,null,null,null,null,null,null,5],[6,\"b-2\",3,null,null,null,null,null]]");
        JsonNode reasons = http.query("SELECT CAST(json_extract(raw, '$.k') AS INT), reason FROM raw.odd__dlq ORDER BY 1");
        assertThat(reasons.path("rows").get(0).get(1).asText()).contains("1E+400 is beyond the range of a double");
        assertThat(reasons.path("rows").get(1).get(1).asText()).contains("reserved column name");
        assertThat(http.events("odd__dlq", "{\"a\":1}").status()).as("__ is reserved for dead-letter tables").isEqualTo(404);
    }

    @Test
    void unknownStreamIs404WhenCreationOnFirstUseIsOff() {
        WatershedHttp.Response response = http.events("nope", "{\"a\":1}");
        assertThat(response.status()).isEqualTo(404);
        assertThat(response.json().path("error").path("message").asText())
                .contains("declare it in streams/nope.yaml, or set ingest.auto_create_streams: true");
    }

    @Test
    void bodyOverTheLimitIs413AndStoresNothing() {
        String big = ("{\"pad\":\"" + "y".repeat(1000) + "\"}\n").repeat(17_000); // ~17 MB > 16 MiB default
        WatershedHttp.Response response = http.events("misc", big);
        assertThat(response.status()).isEqualTo(413);
        assertThat(response.json().path("error").path("code").asText()).isEqualTo("PAYLOAD_TOO_LARGE");
    }

    @Test
    void gzipBodiesAndIdempotencyKeysWork() throws Exception {
        ByteArrayOutputStream compressed = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(compressed)) {
            gzip.write("{\"m\":1}\n{\"m\":2}\n{\"m\":3}\n".getBytes(StandardCharsets.UTF_8));
        }
        WatershedHttp.Response first = http.post("/v1/streams/misc/events", compressed.toByteArray(),
                "Content-Encoding", "gzip", "Idempotency-Key", "batch-42");
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.json().path("accepted").asInt()).isEqualTo(3);
        WatershedHttp.Response retry = http.post("/v1/streams/misc/events", compressed.toByteArray(),
                "Content-Encoding", "gzip", "Idempotency-Key", "batch-42");
        assertThat(retry.status()).isEqualTo(200);
        assertThat(retry.json().path("accepted").asInt()).isEqualTo(3);
        assertThat(retry.header("Idempotent-Replayed")).isEqualTo("true");

        WatershedHttp.Response notGzip = http.post("/v1/streams/misc/events", "{\"m\":9}".getBytes(StandardCharsets.UTF_8),
                "Content-Encoding", "gzip");
        assertThat(notGzip.status()).isEqualTo(400);

        Await.until("gzip rows", Duration.ofSeconds(30), () -> http.count("SELECT count(*) FROM raw.misc WHERE m IS NOT NULL") == 3);
        // the retry did not write again, even after more commits
        assertThat(http.events("misc", "{\"m\":100}").status()).isEqualTo(200);
        Await.until("marker row", Duration.ofSeconds(30), () -> http.count("SELECT count(*) FROM raw.misc WHERE m = 100") == 1);
        assertThat(http.count("SELECT count(*) FROM raw.misc WHERE m BETWEEN 1 AND 3")).isEqualTo(3);
    }
}
