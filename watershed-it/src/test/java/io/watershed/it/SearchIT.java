package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.testing.Await;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Log search on a platform of its own process: a stream with {@code search:} is searchable over HTTP; a kill -9 while
 * events arrive and are indexed leaves, after the restart, an index equal to the bus (each event once: the counts by
 * level equal the lake's); grants apply as for SQL, a revoke at once; a malformed query answers 400 with its position.
 */
class SearchIT {
    private static final List<String> LEVELS = List.of("DEBUG", "INFO", "WARN", "ERROR");

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path root;

    private static String q(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    private static String batch(long first, int n) {
        StringBuilder body = new StringBuilder();
        for (long seq = first; seq < first + n; seq++) {
            body.append("{\"seq\": ").append(seq).append(", \"level\": \"").append(LEVELS.get((int) (seq % 4)))
                    .append("\", \"service\": \"svc").append(seq % 3).append("\", \"message\": \"request ").append(seq)
                    .append(seq % 10 == 0 ? " timed out" : " served").append("\"}\n");
        }
        return body.toString();
    }

    @Test
    void searchSurvivesAKillAndAnswersAsGrantsAllow() throws Exception {
        Path project = TestProject.in(root.resolve("project")).commitInterval("500ms")
                // with a retention: the index is kept in daily slices (IndexSlices), which the kill must not tear either
                .stream("logs", "partitions: 3\nsearch:\n  text: [message]\n  keywords: [level, service]\n  retention: 30d\n").write();
        Path data = root.resolve("data");
        Path log = root.resolve("platform.log");
        AtomicLong next = new AtomicLong();
        try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
            WatershedHttp http = platform.http();
            AtomicBoolean sending = new AtomicBoolean(true);
            Thread sender = new Thread(() -> {
                while (sending.get()) {
                    long first = next.get();
                    try {
                        if (http.events("logs", batch(first, 50)).status() == 200) {
                            next.addAndGet(50);
                        }
                    } catch (RuntimeException killed) {
                        return; // the platform is gone
                    }
                }
            });
            sender.start();
            Await.until("the index to hold 3000 events", Duration.ofSeconds(120),
                    () -> total(http, "logs", "") >= 3000);
            platform.kill(); // indexing under way: the index's last commit is behind the bus
            sending.set(false);
            sender.join(30_000);
        }
        try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
            WatershedHttp http = platform.http();
            long acknowledged = next.get();
            long inLake = Await.until("the index to hold what the bus holds (the lake and its fresh tail)", Duration.ofSeconds(90),
                    () -> lakeCount(http, "true"), n -> n >= acknowledged && n == total(http, "logs", ""));
            for (String level : LEVELS) {
                assertThat(total(http, "logs", "level:" + level)).as("events of level %s, each once", level)
                        .isEqualTo(lakeCount(http, "level = '" + level + "'"));
            }
            assertThat(total(http, "logs", "\"timed out\"")).isEqualTo(lakeCount(http, "seq % 10 = 0"));
            assertThat(http.count("SELECT count(DISTINCT seq) FROM raw.logs")).isEqualTo(inLake);

            JsonNode found = ok(http.get("/v1/search?stream=logs&q=" + q("timed AND service:svc0") + "&limit=5&top=level,service"));
            assertThat(found.path("hits")).hasSize(5);
            JsonNode hit = found.path("hits").get(0);
            assertThat(hit.path("highlights").path("message").get(0).asText()).contains("<em>timed</em>");
            assertThat(hit.path("lake").path("table").asText()).isEqualTo("raw.logs");
            long seq = hit.path("source").path("seq").asLong();
            assertThat(http.rows("SELECT seq FROM raw.logs WHERE _partition = " + hit.path("lake").path("_partition").asInt()
                    + " AND _offset = " + hit.path("lake").path("_offset").asLong())).as("the hit's row in the lake")
                    .containsExactly(String.valueOf(seq));
            assertThat(found.path("top").path("service").get(0).path("value").asText()).isEqualTo("svc0");
            long histogramSum = 0;
            for (JsonNode bucket : found.path("histogram")) {
                histogramSum += bucket.path("count").asLong();
            }
            assertThat(histogramSum).isEqualTo(found.path("total").asLong());
            assertThat(ok(http.get("/v1/streams")).toString()).contains("\"search\":{\"documents\":" + inLake);
            assertThat(http.get("/metrics").body()).contains("watershed_search_lag{stream=\"logs\"}");

            WatershedHttp.Response bad = http.get("/v1/search?stream=logs&q=" + q("level:(ERROR OR"));
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.json().path("error").path("code").asText()).isEqualTo("INVALID_INPUT");
            assertThat(bad.json().path("error").path("line").asInt()).isEqualTo(1);
            assertThat(bad.json().path("error").path("column").asInt()).isEqualTo(16);

            String stranger = Tokens.issue(http, "stranger", Map.of(), "read table:raw.other");
            assertThat(http.as(stranger).get("/v1/search?stream=logs&q=error").status()).isEqualTo(403);
            ok(http.postJson("/v1/access/roles", Map.of("name", "ops")));
            ok(http.postJson("/v1/access/grants", Map.of("role", "ops", "privilege", "read", "object", "table:raw.logs",
                    "columns", List.of("level", "message"))));
            ok(http.postJson("/v1/access/users", Map.of("name", "ana", "kind", "service")));
            ok(http.postJson("/v1/access/users/ana/roles", Map.of("role", "ops")));
            WatershedHttp ana = http.as(ok(http.postJson("/v1/access/tokens", Map.of("user", "ana"))).path("token").asText());
            JsonNode seen = ok(ana.get("/v1/search?stream=logs&q=" + q("level:ERROR") + "&limit=3"));
            List<String> keys = new ArrayList<>();
            seen.path("hits").get(0).path("source").fieldNames().forEachRemaining(keys::add);
            assertThat(keys).containsExactlyInAnyOrder("level", "message");
            assertThat(ana.get("/v1/search?stream=logs&q=" + q("service:svc1")).status()).as("a hidden field").isEqualTo(403);
            assertThat(ana.get("/v1/search?stream=logs&q=x&top=service").status()).isEqualTo(403);
            ok(http.postJson("/v1/access/revoke", Map.of("role", "ops", "privilege", "read", "object", "table:raw.logs")));
            WatershedHttp.Response revoked = ana.get("/v1/search?stream=logs&q=" + q("level:ERROR"));
            assertThat(revoked.status()).as("at once after the revoke: %s", revoked.body()).isEqualTo(403);
            assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
        }
    }

    private static long total(WatershedHttp http, String stream, String query) {
        WatershedHttp.Response r = http.get("/v1/search?stream=" + stream + "&limit=0&q=" + q(query));
        return r.status() == 200 ? r.json().path("total").asLong() : -1;
    }

    /** Events of raw.logs (lake and fresh tail) where {@code condition} holds; -1 while the table cannot be read. */
    private static long lakeCount(WatershedHttp http, String condition) {
        List<String> rows = http.rows("SELECT count(*) FROM raw.logs WHERE " + condition);
        return rows.size() == 1 && rows.get(0).matches("\\d+") ? Long.parseLong(rows.get(0)) : -1;
    }

    private static JsonNode ok(WatershedHttp.Response r) {
        assertThat(r.status()).as(r.body()).isBetween(200, 299);
        return r.json();
    }
}
