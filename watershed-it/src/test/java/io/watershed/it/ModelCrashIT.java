package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.testing.Await;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model build killed with the platform (SIGKILL) while its job writes: the table keeps its previous
 * version, whole; the run is failed at the next start with the reason; retrying it builds the table.
 */
class ModelCrashIT {
    @TempDir
    Path root;

    @Test
    void aBuildKilledMidWayLeavesThePreviousTableIntactAndARetrySucceeds() throws Exception {
        Path project = TestProject.in(root.resolve("p"))
                .stream("events", "partitions: 2\nfields:\n  id: long\n")
                .model("pairs", "SELECT a.id AS a, b.id AS b FROM raw.events AS a CROSS JOIN raw.events AS b\n")
                .model("pair_count", "SELECT count(*) AS n FROM pairs\n")
                .model("pairs_in_a_hurry", "-- timeout: 1s\n-- retries: 0\nSELECT a.id AS a, b.id AS b FROM raw.events AS a, raw.events AS b\n")
                .write();
        Path data = root.resolve("d");
        Path log = root.resolve("platform.log");
        Path files = data.resolve("lake/warehouse/models/pairs/data");
        long runId;
        try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            send(http, 0, 100);
            awaitCommitted(http, 100);
            JsonNode first = ModelsIT.awaitRun(http, run(http));
            assertThat(first.path("state").asText()).as(first.toPrettyString()).isEqualTo("success");
            assertThat(http.count("SELECT n FROM models.pair_count")).isEqualTo(10_000);

            // 3,000 events make 9 million pairs: a build that takes a while to write
            send(http, 100, 3_000);
            awaitCommitted(http, 3_000);
            long filesBefore = count(files);
            JsonNode second = run(http);
            runId = second.path("id").asLong();
            Await.until("the build of pairs to be writing its files", Duration.ofMinutes(2), () -> count(files) > filesBefore);
            JsonNode during = http.get("/v1/runs/" + runId).json();
            assertThat(ModelsIT.step(during, "pairs").path("state").asText()).isEqualTo("running");
            platform.kill();
        }
        try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            JsonNode interrupted = http.get("/v1/runs/" + runId).json();
            assertThat(interrupted.path("state").asText()).isEqualTo("failed");
            assertThat(interrupted.path("error").asText()).contains("the platform stopped").contains("watershed runs retry " + runId);
            assertThat(ModelsIT.step(interrupted, "pairs").path("state").asText()).isEqualTo("failed");
            assertThat(ModelsIT.step(interrupted, "pair_count").path("state").asText()).isEqualTo("upstream_failed");
            // the previous version, whole: nothing of the killed build is visible
            assertThat(http.count("SELECT count(*) FROM models.pairs")).isEqualTo(10_000);
            assertThat(http.count("SELECT count(DISTINCT a) FROM models.pairs")).isEqualTo(100);
            assertThat(http.count("SELECT n FROM models.pair_count")).isEqualTo(10_000);

            JsonNode retried = ModelsIT.awaitRun(http, http.post("/v1/runs/" + runId + "/retry", new byte[0]).json());
            assertThat(retried.path("state").asText()).as(retried.toPrettyString()).isEqualTo("success");
            assertThat(retried.path("id").asLong()).isEqualTo(runId);
            assertThat(http.count("SELECT count(*) FROM models.pairs")).isEqualTo(9_000_000);
            assertThat(http.count("SELECT n FROM models.pair_count")).isEqualTo(9_000_000);

            // a build past its timeout is cancelled: the step fails with the reason, and writes nothing (a first build: no table)
            JsonNode hurried = ModelsIT.awaitRun(http, http.post("/v1/runs", "{\"models\": [\"pairs_in_a_hurry\"]}"
                    .getBytes(StandardCharsets.UTF_8)).json());
            assertThat(hurried.path("state").asText()).isEqualTo("failed");
            JsonNode step = ModelsIT.step(hurried, "pairs_in_a_hurry");
            assertThat(step.path("attempts").asInt()).isEqualTo(1);
            assertThat(step.path("error").asText()).contains("models/pairs_in_a_hurry.sql: the build ran longer than its timeout "
                    + "(PT1S) and was cancelled; the table is unchanged");
            assertThat(http.sql("SELECT count(*) FROM models.pairs_in_a_hurry").body()).contains("does not exist");
        }
    }

    private static JsonNode run(WatershedHttp http) {
        return http.post("/v1/runs", "{\"models\": [\"pairs+\"]}".getBytes(StandardCharsets.UTF_8)).json();
    }

    private static void send(WatershedHttp http, int from, int to) {
        StringBuilder body = new StringBuilder();
        for (int i = from; i < to; i++) {
            body.append("{\"id\":").append(i).append("}\n");
        }
        assertThat(http.events("events", body.toString()).status()).isEqualTo(200);
    }

    private static void awaitCommitted(WatershedHttp http, long rows) {
        Await.until(rows + " events committed", Duration.ofSeconds(90), () -> {
            JsonNode r = http.sql("SELECT count(*) FROM committed.raw.events").json();
            return r.has("rows") && r.path("rows").get(0).get(0).asLong() == rows;
        });
    }

    private static long count(Path dir) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).count();
        } catch (IOException | UncheckedIOException e) {
            return 0; // a file went away while listing (the writer renames as it goes): look again
        }
    }
}
