package io.watershed.ml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.MlSpec;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.ReadScope;
import io.watershed.spi.StateDatabase;
import io.watershed.spi.WatershedException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training, the registry and scoring together, on the SQLite state database, with a query engine and a lake that hand out
 * generated rows and a snapshot id (the real ones are exercised by MlIT).
 */
class MlServiceTest {
    @TempDir
    Path data;

    final AtomicInteger queries = new AtomicInteger();
    final List<Long> snapshotIds = new ArrayList<>(List.of(7L));
    List<List<Object>> rows = GeneratedData.linear(2000, 11);
    MlService service;

    final QueryEngine query = new QueryEngine() {
        @Override
        public QueryResult query(String sql, int maxRows, ReadScope scope) {
            queries.incrementAndGet();
            if (snapshotIds.size() > 1) {
                snapshotIds.remove(0); // a commit lands while the query runs
            }
            return new QueryResult(LightGbmTest.COLUMNS, LightGbmTest.TYPES, rows, false, 1, List.of("raw.points"));
        }

        @Override
        public void close() {}
    };

    final LakeCatalog lake = new LakeCatalog() {
        @Override
        public List<LakeTableView> tables() {
            return List.of(new LakeTableView("raw", "points", snapshotIds.get(0), List.of(), List.of(), Map.of()),
                    new LakeTableView("raw", "other", 99, List.of(), List.of(), Map.of()));
        }

        @Override
        public Path warehouse() {
            return data;
        }
    };

    @BeforeEach
    void start() {
        MlSpec spec = LightGbmTest.spec(MlSpec.Objective.REGRESSION, Map.of("num_iterations", "50"),
                List.of(new MlSpec.Threshold("rmse", "<=", 0.5)));
        service = new MlService(Map.of("points", spec), query, lake, StateDatabase.local(data), data, Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        service.close();
    }

    @Test
    void aTrainingRecordsACandidateWithItsMetricsSchemaSnapshotsAndModelFile() throws Exception {
        ModelVersion v1 = service.train("points");
        assertThat(v1.version()).isEqualTo(1);
        assertThat(v1.stage()).isEqualTo(ModelVersion.CANDIDATE);
        assertThat(v1.metrics()).containsOnlyKeys("rmse", "mae");
        assertThat(v1.metrics().get("rmse")).isLessThan(0.5);
        assertThat(v1.trainingRows() + v1.testRows()).isEqualTo(2000);
        assertThat(v1.features()).containsExactly(new Feature("x1", "DOUBLE"), new Feature("x2", "DOUBLE"));
        assertThat(v1.snapshots()).isEqualTo(Map.of("raw.points", 7L));
        assertThat(v1.parameters()).containsEntry("objective", "regression").containsEntry("num_iterations", "50");
        Path file = data.resolve(v1.artifact());
        assertThat(Files.readString(file, StandardCharsets.UTF_8)).startsWith("tree\n");
        assertThat(service.versions("points")).containsExactly(v1);
        assertThat(service.production("points")).isEmpty();
    }

    @Test
    void aCommitDuringTheQueryMakesItReadAgainSoTheSnapshotIsTheOneRead() {
        snapshotIds.clear();
        snapshotIds.addAll(List.of(7L, 8L));
        ModelVersion v1 = service.train("points");
        assertThat(queries.get()).isEqualTo(2);
        assertThat(v1.snapshots()).isEqualTo(Map.of("raw.points", 8L));
    }

    @Test
    void promotingArchivesThePreviousProductionVersionAndScoresWithTheNewOne() {
        ModelVersion v1 = service.train("points");
        rows = GeneratedData.linear(2000, 12);
        ModelVersion v2 = service.train("points");
        assertThat(v2.version()).isEqualTo(2);
        assertThat(service.promote("points", 1).stage()).isEqualTo(ModelVersion.PRODUCTION);
        List<Map<String, Object>> input = List.of(Map.of("x1", 0.5, "x2", -0.25), new HashMap<>(Map.of("x1", 1)));
        input.get(1).put("x2", null);
        MlService.Prediction first = service.predict("points", OptionalInt.empty(), input);
        assertThat(first.version().version()).isEqualTo(1);
        assertThat(first.scores()[0]).isCloseTo(2.0, org.assertj.core.data.Offset.offset(0.4)); // 3 * 0.5 - 2 * -0.25

        service.promote("points", 2);
        assertThat(service.versions("points")).extracting(ModelVersion::version, ModelVersion::stage)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(2, "production"), org.assertj.core.groups.Tuple.tuple(1, "archived"));
        MlService.Prediction second = service.predict("points", OptionalInt.empty(), input);
        assertThat(second.version().version()).isEqualTo(2);
        MlService.Prediction pinned = service.predict("points", OptionalInt.of(1), input);
        assertThat(pinned.scores()).containsExactly(first.scores());
        try (LightGbm.Scorer direct = LightGbm.Scorer.load(readModel(v2))) {
            assertThat(second.scores()).containsExactly(direct.predict(new double[] {0.5, -0.25, 1, Double.NaN}, 2));
        }
        assertThat(v1.version()).isEqualTo(1);
    }

    private String readModel(ModelVersion version) {
        try {
            return Files.readString(data.resolve(version.artifact()));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aVersionThatMissesPromoteIfStaysACandidate() {
        rows = new ArrayList<>();
        java.util.Random random = new java.util.Random(13);
        for (long id = 0; id < 2000; id++) {
            rows.add(List.of(id, random.nextDouble(), random.nextDouble(), random.nextGaussian() * 3)); // nothing to learn
        }
        ModelVersion noise = service.train("points");
        assertThatThrownBy(() -> service.promote("points", noise.version()))
                .isInstanceOfSatisfying(WatershedException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT))
                .hasMessageStartingWith("Cannot promote ml:points version 1: it does not meet promote_if in ml/points.yaml:1:1 (rmse is ")
                .hasMessageEndingWith(", needs <= 0.5); it stays a candidate");
        assertThat(service.production("points")).isEmpty();
        assertThatThrownBy(() -> service.predict("points", OptionalInt.empty(), List.of(Map.of("x1", 1, "x2", 2))))
                .hasMessageStartingWith("Cannot score with ml:points: no version is in production");
    }

    @Test
    void refusesUnknownModelsVersionsAndRowsWithoutTheFeatures() {
        assertThatThrownBy(() -> service.train("churn")).hasMessage("Cannot find ml model 'churn': the project has [points]");
        assertThatThrownBy(() -> service.promote("points", 3))
                .hasMessage("Cannot promote ml:points version 3: there is no such version; GET /v1/ml/points/versions lists them");
        service.train("points");
        assertThatThrownBy(() -> service.predict("points", OptionalInt.of(1), List.of(Map.of("x1", 1))))
                .hasMessage("Cannot score with ml:points: row 1 has no 'x2'; the model's features are [x1, x2] (send null for a "
                        + "missing value)");
        assertThatThrownBy(() -> service.predict("points", OptionalInt.of(1), List.of(Map.of("x1", 1, "x2", "big"))))
                .hasMessage("Cannot score with ml:points: 'x2' in row 1 is 'big'; features are numbers or booleans");
    }

    @Test
    void theRegistryOutlivesTheService() {
        ModelVersion v1 = service.train("points");
        service.promote("points", 1);
        service.close();
        start();
        assertThat(service.production("points")).hasValueSatisfying(v -> {
            assertThat(v.version()).isEqualTo(1);
            assertThat(v.metrics()).isEqualTo(v1.metrics());
            assertThat(v.features()).isEqualTo(v1.features());
            assertThat(v.snapshots()).isEqualTo(v1.snapshots());
        });
        assertThat(service.predict("points", OptionalInt.empty(), List.of(Map.of("x1", 0, "x2", 0))).scores()).hasSize(1);
    }
}
