package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bad-input suite over HTTP: each hostile or broken body has its expected answer — a 4xx with the line, column or
 * reason, or acceptance with the record dead-lettered or stored exactly as sent. Never a 500, never a crash, and every
 * refused request is counted in {@code watershed_ingest_requests_rejected_total}.
 */
class BadInputIT {
    @TempDir
    static Path root;

    static Platform platform;
    static WatershedHttp http;

    @BeforeAll
    static void start() {
        platform = Platform.start(TestProject.in(root.resolve("project"))
                .stream("typed", "key: id\nevent_time: at\nfields:\n  id: long\n  n: int\n  at: timestamp\n  name: string\n")
                .stream("free", "")
                .load(), root.resolve("data"));
        http = new WatershedHttp(platform.url(), platform.adminToken());
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    /** One case: a body for a stream, and what must come back. */
    record Case(String name, String stream, byte[] body, String encoding, int status, String fragment) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Case refused(String name, String body, int status, String fragment) {
        return new Case(name, "free", body.getBytes(StandardCharsets.UTF_8), null, status, fragment);
    }

    static byte[] gzip(byte[] data, int times) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            for (int i = 0; i < times; i++) {
                gz.write(data);
            }
        }
        return out.toByteArray();
    }

    static List<Case> refusals() throws Exception {
        List<Case> cases = new ArrayList<>();
        cases.add(refused("malformed JSON", "{\"a\": 1,, }", 400, "line 1, column"));
        cases.add(refused("a bad NDJSON line names its line", "{\"a\":1}\n{\"a\":2}\n{\"a\": tru}\n{\"a\":4}", 400, "line 3"));
        cases.add(refused("empty body", "", 400, ""));
        cases.add(refused("only whitespace", " \n\t\n", 400, ""));
        cases.add(refused("null", "null", 400, ""));
        cases.add(refused("a bare number", "42", 400, ""));
        cases.add(refused("a bare string", "\"x\"", 400, ""));
        cases.add(refused("an array of numbers", "[1, 2]", 400, ""));
        cases.add(refused("nesting depth 100,000", "[".repeat(100_000) + "]".repeat(100_000), 400, ""));
        cases.add(refused("object nesting depth 100,000", "{\"a\":".repeat(100_000) + "1" + "}".repeat(100_000), 400, ""));
        cases.add(refused("10^100000 as a number", "{\"n\": 1" + "0".repeat(100_000) + "}", 400, ""));
        cases.add(refused("a truncated document", "{\"a\": \"no end", 400, ""));
        cases.add(refused("NaN is not JSON", "{\"n\": NaN}", 400, ""));
        cases.add(refused("a comment is not JSON", "{\"a\": 1} // no", 400, ""));
        cases.add(refused("single quotes are not JSON", "{'a': 1}", 400, ""));
        cases.add(refused("duplicate keys", "{\"a\": 1, \"a\": 2}", 400, "a"));
        cases.add(new Case("invalid UTF-8", "free", new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'}, null,
                400, ""));
        cases.add(new Case("overlong UTF-8 encoding of '/'", "free", new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xC0, (byte) 0xAF,
                '"', '}'}, null, 400, ""));
        cases.add(new Case("a 100 MB body", "free", ("{\"a\":\"" + "x".repeat(100 << 20) + "\"}").getBytes(StandardCharsets.UTF_8),
                null, 413, "http.max_body"));
        cases.add(new Case("a 50 MB string", "free", ("{\"a\":\"" + "x".repeat(50 << 20) + "\"}").getBytes(StandardCharsets.UTF_8),
                null, 413, "http.max_body"));
        cases.add(new Case("a record just over 1,000,000 bytes", "free",
                ("{\"a\":\"" + "x".repeat(1_000_001) + "\"}").getBytes(StandardCharsets.UTF_8), null, 413, ""));
        cases.add(new Case("a gzip bomb (1 GiB of zeros in ~1 MB)", "free", gzip(new byte[1 << 20], 1024), "gzip", 413, ""));
        cases.add(new Case("gzip that is not gzip", "free", "{\"a\":1}".getBytes(StandardCharsets.UTF_8), "gzip", 400, "gzip"));
        cases.add(new Case("an unknown content encoding", "free", "{\"a\":1}".getBytes(StandardCharsets.UTF_8), "br", 415, ""));
        return cases;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void refusedWithItsReasonAndCounted(Case c) {
        double before = rejected();
        WatershedHttp.Response r = c.encoding() == null ? http.post("/v1/streams/" + c.stream() + "/events", c.body())
                : http.post("/v1/streams/" + c.stream() + "/events", c.body(), "Content-Encoding", c.encoding());
        assertThat(r.status()).as(c.name() + " -> " + r.body().substring(0, Math.min(400, r.body().length()))).isEqualTo(c.status());
        JsonNode error = r.json().path("error");
        assertThat(error.path("message").asText()).as(c.name()).contains(c.fragment()).startsWith("Cannot");
        assertThat(rejected()).as("the refusal is counted").isGreaterThan(before);
        assertThat(http.get("/v1/health").status()).isEqualTo(200);
    }

    /** Sums {@code watershed_ingest_requests_rejected_total} over its labels. */
    static double rejected() {
        double sum = 0;
        for (String line : http.get("/metrics").body().split("\n")) {
            if (line.startsWith("watershed_ingest_requests_rejected_total")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    @Test
    void acceptedAsSentOrDeadLetteredWithAReason() {
        String[] kept = {
                "{\"id\": 1, \"name\": \"emoji 😀 and RTL שלום مرحبا\"}",
                "{\"id\": 2, \"name\": \"NUL \\u0000 inside\"}",
                "{\"id\": 3, \"name\": \"lone surrogate \\ud800\"}",
                "{\"id\": 4, \"at\": \"0001-01-01T00:00:00Z\"}",
                "{\"id\": 5, \"at\": \"9999-12-31T23:59:59.999Z\"}",
                "{\"id\": 6, \"at\": \"2026-11-22T10:00:00\"}",
                "{\"name\": \"no key\", \"id\": 7}",
                "{\"id\": 8, \"n\": 1e400}",
                "{\"id\": 9, \"n\": \"many\"}",
                "{\"id\": 10, \"n\": 3000000000}",
                "{\"id\": 11, \"at\": \"yesterday\"}",
                "{\"id\": 12, \"extra\": {\"deep\": [1, {\"x\": null}]}}",
        };
        WatershedHttp.Response r = http.events("typed", "\uFEFF" + String.join("\n", kept));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().path("accepted").asInt()).isEqualTo(kept.length);
        Await.until("every record stored or dead-lettered", Duration.ofSeconds(60),
                () -> http.count("SELECT count(*) FROM raw.typed") + http.count("SELECT count(*) FROM raw.typed__dlq") == kept.length);
        assertThat(http.rows("SELECT name FROM raw.typed WHERE id = 1")).containsExactly("emoji 😀 and RTL שלום مرحبا");
        List<String> reasons = http.rows("SELECT reason FROM raw.typed__dlq ORDER BY _offset");
        assertThat(reasons).as("each dead letter says why").allMatch(reason -> !reason.isBlank());
        assertThat(reasons.toString()).contains("'n'");
        assertThat(http.get("/v1/health").status()).isEqualTo(200);
    }

    @Test
    void arraysOfObjectsAndAnEmptyArray() {
        assertThat(http.events("free", "[{\"a\":1},{\"a\":2}]").json().path("accepted").asInt()).isEqualTo(2);
        WatershedHttp.Response empty = http.events("free", "[]");
        assertThat(empty.status()).as(empty.body()).isIn(200, 400);
        if (empty.status() == 200) {
            assertThat(empty.json().path("accepted").asInt()).isZero();
        }
    }

    @Test
    void streamNamesThatTryToLeaveTheirPlace() {
        for (String name : List.of("..%2Fx", "..", "%2E%2E%2F%2E%2E%2Fetc", "a'b", "a%22b", "x".repeat(10_000), "UPPER", "a%00b", "a__dlq",
                "-x", "_x", "a/b", "%F0%9F%98%80")) {
            WatershedHttp.Response r = http.events(name, "{\"a\":1}");
            assertThat(r.status()).as(name.substring(0, Math.min(40, name.length())) + " -> " + r.body()).isIn(400, 404, 414, 431);
        }
        assertThat(root.resolve("data").resolve("x")).doesNotExist();
        assertThat(http.get("/v1/health").status()).isEqualTo(200);
    }
}
