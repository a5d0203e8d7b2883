package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.ml.LightGbm;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Trained models on the real platform: events posted to a stream land in the lake, a model is trained on them through
 * the API with LightGBM, its version records its metrics and the lake snapshot it read, it is promoted, and it scores
 * rows over HTTP exactly as the library does when called directly on the same inputs. A version that misses its
 * promote_if stays a candidate.
 */
class MlIT {
    static final int EVENTS = 3_000;

    @TempDir
    static Path root;

    static Platform platform;
    static WatershedHttp http;

    @BeforeAll
    static void start() {
        String points = "SELECT id, x1, x2, y, buys, noise FROM committed.raw.points";
        platform = Platform.start(TestProject.in(root.resolve("project"))
                .commitInterval("200ms")
                .stream("points", "fields:\n  id: long\n  x1: double\n  x2: double\n  y: double\n  buys: long\n  noise: double\n")
                .file("ml/price.yaml", """
                        description: y from x1 and x2, a linear relationship
                        sql: %s
                        label: y
                        features: [x1, x2]
                        objective: regression
                        parameters:
                          num_iterations: 150
                        split:
                          test_fraction: 0.2
                          key: id
                        promote_if:
                          rmse: "<= 0.5"
                        """.formatted(points))
                .file("ml/buyers.yaml", """
                        sql: %s
                        label: buys
                        features: [x1, x2]
                        objective: binary
                        split: {key: id}
                        promote_if:
                          auc: ">= 0.9"
                        """.formatted(points))
                .file("ml/guess.yaml", """
                        description: noise cannot be learned, so it is never promoted
                        sql: %s
                        label: noise
                        features: [x1, x2]
                        objective: regression
                        promote_if:
                          rmse: "<= 0.5"
                        schedule: "0 3 * * *"
                        """.formatted(points))
                .load(), root.resolve("data"));
        http = new WatershedHttp(platform.url(), platform.adminToken());
        Random random = new Random(29);
        for (int batch = 0; batch < EVENTS / 500; batch++) {
            StringBuilder body = new StringBuilder();
            for (int i = 0; i < 500; i++) {
                double x1 = random.nextDouble() * 2 - 1;
                double x2 = random.nextDouble() * 2 - 1;
                double y = 3 * x1 - 2 * x2 + random.nextGaussian() * 0.1;
                long buys = x1 - 0.5 * x2 + random.nextGaussian() * 0.2 > 0 ? 1 : 0;
                body.append("{\"id\":").append(batch * 500 + i).append(",\"x1\":").append(x1).append(",\"x2\":").append(x2)
                        .append(",\"y\":").append(y).append(",\"buys\":").append(buys).append(",\"noise\":")
                        .append(random.nextGaussian() * 3).append("}\n");
            }
            assertThat(http.events("points", body.toString()).status()).isEqualTo(200);
        }
        Await.until("every event in the lake", Duration.ofSeconds(60),
                () -> http.sql("SELECT count(*) FROM committed.raw.points").status() == 200
                        && http.count("SELECT count(*) FROM committed.raw.points") == EVENTS);
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    private static JsonNode ok(WatershedHttp.Response response) {
        assertThat(response.status()).as(response.body()).isBetween(200, 299);
        return response.json();
    }

    @Test
    void aModelTrainedThroughTheApiRecordsItsMetricsAndSnapshotIsPromotedAndScoresAsTheLibraryDoes() throws Exception {
        JsonNode v1 = ok(http.postJson("/v1/ml/price/train", Map.of()));
        assertThat(v1.path("version").asInt()).isEqualTo(1);
        assertThat(v1.path("stage").asText()).isEqualTo("candidate");
        assertThat(v1.path("metrics").path("rmse").asDouble()).isLessThan(0.3); // the noise is 0.1; the mean alone gives 2.1
        assertThat(v1.path("metrics").path("mae").asDouble()).isLessThan(0.25);
        assertThat(v1.path("training_rows").asLong() + v1.path("test_rows").asLong()).isEqualTo(EVENTS);
        assertThat(v1.path("test_rows").asLong()).isBetween(500L, 700L); // test_fraction 0.2
        assertThat(v1.path("features").toString()).isEqualTo("[{\"name\":\"x1\",\"type\":\"DOUBLE\"},{\"name\":\"x2\",\"type\":\"DOUBLE\"}]");
        String current = null;
        for (JsonNode snapshot : ok(http.get("/v1/tables/raw.points")).path("snapshots")) {
            if (snapshot.path("current").asBoolean()) {
                current = snapshot.path("snapshot_id").asText();
            }
        }
        assertThat(v1.path("snapshots").path("raw.points").asText()).isEqualTo(current).isNotNull();

        JsonNode promoted = ok(http.postJson("/v1/ml/price/versions/1/promote", Map.of()));
        assertThat(promoted.path("stage").asText()).isEqualTo("production");
        JsonNode listed = null;
        for (JsonNode model : ok(http.get("/v1/ml")).path("models")) {
            if (model.path("name").asText().equals("price")) {
                listed = model;
            }
        }
        assertThat(listed).isNotNull();
        assertThat(listed.path("production").path("version").asInt()).isEqualTo(1);
        assertThat(listed.path("production").path("metrics").path("rmse").asDouble()).isEqualTo(v1.path("metrics").path("rmse").asDouble());

        Random random = new Random(5);
        List<Map<String, Object>> rows = new ArrayList<>();
        double[] matrix = new double[50 * 2];
        for (int i = 0; i < 50; i++) {
            Map<String, Object> row = new LinkedHashMap<>();
            matrix[2 * i] = random.nextDouble() * 2 - 1;
            matrix[2 * i + 1] = random.nextDouble() * 2 - 1;
            row.put("x1", matrix[2 * i]);
            row.put("x2", matrix[2 * i + 1]);
            rows.add(row);
        }
        JsonNode scored = ok(http.postJson("/v1/ml/price/predict", Map.of("rows", rows)));
        assertThat(scored.path("version").asInt()).isEqualTo(1);
        double[] overHttp = new double[50];
        for (int i = 0; i < 50; i++) {
            overHttp[i] = scored.path("predictions").get(i).asDouble();
        }
        String model = Files.readString(platform.dataDirectory().resolve(v1.path("artifact").asText()));
        try (LightGbm.Scorer direct = LightGbm.Scorer.load(model)) {
            assertThat(overHttp).containsExactly(direct.predict(matrix, 50));
        }
        for (int i = 0; i < 50; i++) { // and close to the relationship the data was made with
            assertThat(overHttp[i]).isCloseTo(3 * matrix[2 * i] - 2 * matrix[2 * i + 1], org.assertj.core.data.Offset.offset(0.6));
        }

        ok(http.postJson("/v1/ml/price/train", Map.of()));
        ok(http.postJson("/v1/ml/price/versions/2/promote", Map.of()));
        JsonNode versions = ok(http.get("/v1/ml/price/versions")).path("versions");
        assertThat(versions.get(0).path("version").asInt()).isEqualTo(2);
        assertThat(versions.get(0).path("stage").asText()).isEqualTo("production");
        assertThat(versions.get(1).path("stage").asText()).isEqualTo("archived");
        assertThat(ok(http.postJson("/v1/ml/price/predict?version=1", Map.of("rows", rows))).path("predictions").toString())
                .isEqualTo(scored.path("predictions").toString());
    }

    @Test
    void aBinaryModelThatMeetsItsThresholdIsPromoted() {
        JsonNode v1 = ok(http.postJson("/v1/ml/buyers/train", Map.of()));
        assertThat(v1.path("metrics").path("auc").asDouble()).isGreaterThan(0.95);
        assertThat(v1.path("metrics").path("logloss").asDouble()).isLessThan(0.35);
        ok(http.postJson("/v1/ml/buyers/versions/1/promote", Map.of()));
        JsonNode scored = ok(http.postJson("/v1/ml/buyers/predict", Map.of("rows", List.of(Map.of("x1", 0.9, "x2", -0.9),
                Map.of("x1", -0.9, "x2", 0.9)))));
        assertThat(scored.path("predictions").get(0).asDouble()).isGreaterThan(0.9);
        assertThat(scored.path("predictions").get(1).asDouble()).isLessThan(0.1);
    }

    @Test
    void aVersionThatMissesPromoteIfIsRefusedAndStaysACandidate() {
        int version = ok(http.postJson("/v1/ml/guess/train", Map.of())).path("version").asInt();
        WatershedHttp.Response refused = http.postJson("/v1/ml/guess/versions/" + version + "/promote", Map.of());
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.json().path("error").path("message").asText())
                .startsWith("Cannot promote ml:guess version " + version + ": it does not meet promote_if in ml/guess.yaml:1:1 (rmse is ")
                .endsWith(", needs <= 0.5); it stays a candidate");
        assertThat(ok(http.get("/v1/ml/guess/versions")).path("versions").get(0).path("stage").asText()).isEqualTo("candidate");
        for (JsonNode model : ok(http.get("/v1/ml")).path("models")) {
            String next = model.path("next_training_at").asText(null);
            if (model.path("name").asText().equals("guess")) {
                assertThat(next).endsWith("T03:00:00Z");
            } else {
                assertThat(next).isNull();
            }
        }
        WatershedHttp.Response noProduction = http.postJson("/v1/ml/guess/predict", Map.of("rows", List.of(Map.of("x1", 1, "x2", 1))));
        assertThat(noProduction.status()).isEqualTo(404);
    }

    @Test
    void trainingAndPromotingNeedChangeOnTheModelWhileReadingNeedsAGeneralToken() {
        String analyst = Tokens.issue(http, "analyst", Map.of(), "read table:raw.points");
        WatershedHttp asAnalyst = http.as(analyst);
        assertThat(asAnalyst.get("/v1/ml").status()).isEqualTo(200);
        WatershedHttp.Response refused = asAnalyst.postJson("/v1/ml/guess/train", Map.of());
        assertThat(refused.status()).as(refused.body()).isEqualTo(403);
        String trainer = Tokens.issue(http, "trainer", Map.of(), "change ml:guess");
        assertThat(http.as(trainer).postJson("/v1/ml/guess/train", Map.of()).status()).isEqualTo(201);
        assertThat(http.as(trainer).postJson("/v1/ml/price/train", Map.of()).status()).isEqualTo(403);
        JsonNode lineage = ok(http.get("/v1/lineage?of=ml:price"));
        assertThat(lineage.path("edges").toString()).contains("{\"from\":\"table:raw.points\",\"to\":\"ml:price\"}");
    }
}
