package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * What every source must do, whatever its protocol (issue 5, "every source alike"), on the real broker, lake writer,
 * Iceberg catalog and DuckDB: each event lands in {@code raw.conf} exactly once with its fields as sent (accents,
 * emoji, right-to-left text, nesting, numbers); input the source cannot decode is refused with a precise error or
 * lands in {@code raw.conf__dlq} with its reason, and is counted; a restart on the same data directory loses and
 * doubles nothing; a configured secret never appears in {@code /v1/sources}; a collector of the ingest part (a
 * {@code Source}: forward, file, jdbc, cdc, mqtt) reports its status there with its kind's fields and the work it did. Each
 * source's IT extends this and adds what only it can do.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class SourceConformance {
    static final String TEXT = "héllo 🌊 مرحبا \"quoted\" \\ tab\t";

    protected Path root;
    protected Platform platform;
    protected WatershedHttp http;
    /** How many events of {@link #events} were sent: those from {@code e0} to {@code e<sent-1>}. */
    protected int sent;

    /** The body of {@code streams/conf.yaml}: the source under test. */
    abstract String streamBody(Path root) throws Exception;

    /** More settings of the project (a shared key, say). */
    TestProject configure(TestProject project) throws Exception {
        return project;
    }

    /**
     * Delivers these events (JSON objects with fields {@code id}, {@code n}, {@code text}, {@code nested}) and returns
     * once the source has them durably (acknowledged) or has them to read (a file written).
     */
    abstract void send(List<String> events) throws Exception;

    /** What an undecodable input came to: refused at once with this message, or dead-lettered with a reason containing it. */
    record Undecodable(boolean refused, String reason) {}

    /** Sends input the source cannot turn into an event. */
    abstract Undecodable sendUndecodable() throws Exception;

    /** A metric line prefix that counts the undecodable input (e.g. {@code watershed_source_dead_letters_total{...}}). */
    abstract String undecodableMetric();

    /**
     * The fields {@code /v1/sources} shows of each kind of source (the API's names; a later version may add fields, never
     * drop or rename one).
     */
    static final Map<String, Set<String>> STATUS_FIELDS = Map.of(
            "forward", Set.of("name", "type", "listen", "shared_key", "streams", "tags_create_streams", "connections", "messages"),
            "file", Set.of("name", "type", "stream", "paths", "files", "lag_bytes", "last_error"),
            "jdbc", Set.of("name", "type", "stream", "table", "user", "password", "mode", "watermark", "last_run", "last_run_rows",
                    "next_run", "running", "last_error"),
            "cdc", Set.of("name", "type", "database", "user", "password", "tables", "running", "events", "last_event", "last_error"),
            "mqtt", Set.of("name", "type", "stream", "url", "topics", "qos", "client_id", "user", "password", "connected", "messages",
                    "last_message", "last_error"));

    /**
     * The kind of source under test as {@code /v1/sources} shows it ({@code forward}, {@code file}, {@code jdbc},
     * {@code cdc}); null for the HTTP API and Kafka, which are no sources of the ingest part.
     */
    String sourceType() {
        return null;
    }

    /** A secret the project configures for the source, or null. */
    String secret() {
        return null;
    }

    @BeforeAll
    void startPlatform() throws Exception {
        root = Files.createTempDirectory("source-" + getClass().getSimpleName());
        TestProject project = configure(TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 100000"))
                .ingest("auto_create_streams", "false")
                .stream("conf", "partitions: 2\n" + streamBody(root));
        platform = Platform.start(project.load(), root.resolve("data"));
        http = new WatershedHttp(platform.url(), platform.adminToken());
    }

    @AfterAll
    void stopPlatform() {
        if (platform != null) {
            platform.close();
        }
    }

    protected void restart() {
        stop();
        startAgain();
    }

    /** Stops the platform; {@link #startAgain()} starts it on the same project and data directory. */
    protected void stop() {
        platform.close();
    }

    protected void startAgain() {
        Path project = root.resolve("project");
        platform = Platform.start(new io.watershed.project.ProjectLoader(java.util.Map.of()).load(project, null), root.resolve("data"));
        http = new WatershedHttp(platform.url(), platform.adminToken());
    }

    static List<String> events(int from, int count) {
        List<String> events = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            events.add("{\"id\":\"e" + i + "\",\"n\":" + i + ",\"text\":" + WatershedHttp.JSON.valueToTree(TEXT)
                    + ",\"nested\":{\"ok\":true,\"list\":[1,2.5,null]}}");
        }
        return events;
    }

    private void sendAndAwait(int count) throws Exception {
        send(events(sent, count));
        sent += count;
        awaitEachSentEventOnce();
    }

    /** Waits until {@code raw.conf} holds each event sent so far, once. */
    protected void awaitEachSentEventOnce() {
        int expected = sent;
        try {
            Await.until(expected + " events in raw.conf, each once", Duration.ofSeconds(90),
                    () -> http.rows("SELECT count(*), count(DISTINCT id) FROM raw.conf WHERE id LIKE 'e%'"),
                    rows -> rows.equals(List.of(expected + " " + expected)));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; ids more than once: " + http.rows("SELECT id, count(*), min(_offset), "
                    + "max(_offset) FROM raw.conf WHERE id LIKE 'e%' GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 10"), e);
        }
    }

    @Test
    @Order(1)
    void everyEventLandsExactlyOnceWithItsFieldsAsSent() throws Exception {
        sendAndAwait(300);
        assertThat(http.rows("SELECT text, n, nested FROM raw.conf WHERE id = 'e7'"))
                .containsExactly(TEXT + " 7 {\"ok\":true,\"list\":[1,2.5,null]}");
    }

    @Test
    @Order(2)
    void undecodableInputIsRefusedOrDeadLetteredWithItsReasonAndCounted() throws Exception {
        Undecodable outcome = sendUndecodable();
        if (!outcome.refused()) {
            Await.until("the dead letter with its reason", Duration.ofSeconds(60),
                    () -> http.rows("SELECT reason FROM raw.conf__dlq"),
                    rows -> rows.stream().anyMatch(r -> r.contains(outcome.reason())));
        } else {
            assertThat(outcome.reason()).isNotBlank();
        }
        Await.until("the refusal counted in " + undecodableMetric(), Duration.ofSeconds(30), () -> {
            for (String line : http.get("/metrics").body().split("\n")) {
                if (line.startsWith(undecodableMetric()) && Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)) >= 1) {
                    return true;
                }
            }
            return false;
        });
        assertThat(http.count("SELECT count(*) FROM raw.conf WHERE id NOT LIKE 'e%' OR id IS NULL"))
                .as("nothing undecodable reached the table").isZero();
    }

    @Test
    @Order(3)
    void aRestartLosesAndDoublesNothing() throws Exception {
        restart();
        sendAndAwait(100);
    }

    @Test
    @Order(4)
    void theSecretNeverShows() {
        String body = http.get("/v1/sources").body();
        assertThat(http.get("/v1/sources").status()).isEqualTo(200);
        if (secret() != null) {
            assertThat(body).doesNotContain(secret()).contains("****");
        }
    }

    @Test
    @Order(5)
    void theSourceReportsItsStatusAndWorkThroughTheSourceContract() {
        if (sourceType() == null) {
            return;
        }
        JsonNode status = null;
        for (JsonNode source : http.get("/v1/sources").json().path("sources")) {
            if (source.path("type").asText().equals(sourceType())) {
                status = source;
            }
        }
        assertThat(status).as("/v1/sources lists the %s source", sourceType()).isNotNull();
        List<String> fields = new ArrayList<>();
        status.fieldNames().forEachRemaining(fields::add);
        assertThat(fields).as("the fields of a %s source", sourceType()).containsAll(STATUS_FIELDS.get(sourceType()));
        assertThat(status.path("name").asText()).isNotBlank();
        switch (sourceType()) {
            case "forward" -> {
                assertThat(status.path("streams").has("conf")).as("the forward listener routes tags to conf").isTrue();
                assertThat(status.path("messages").asLong()).as("messages read since the restart").isPositive();
            }
            case "file" -> {
                assertThat(status.path("stream").asText()).isEqualTo("conf");
                assertThat(status.path("files").get(0).path("offset").asLong()).as("bytes published").isPositive();
                assertThat(status.path("lag_bytes").asLong()).isZero();
            }
            case "jdbc" -> {
                assertThat(status.path("stream").asText()).isEqualTo("conf");
                assertThat(status.path("last_run").isTextual()).as("a run ended: %s", status).isTrue();
            }
            case "cdc" -> {
                assertThat(status.path("tables").path("public.conf").asText()).isEqualTo("conf");
                assertThat(status.path("events").asLong()).as("changes published since the restart").isPositive();
            }
            case "mqtt" -> {
                assertThat(status.path("stream").asText()).isEqualTo("conf");
                assertThat(status.path("connected").asBoolean()).as("connected: %s", status).isTrue();
                assertThat(status.path("messages").asLong()).as("messages published since the restart").isPositive();
            }
            default -> throw new AssertionError("no contract check for source type " + sourceType());
        }
    }
}
