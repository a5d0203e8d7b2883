package io.watershed.ml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.Secret;
import io.watershed.spi.Settings;
import io.watershed.spi.StateDatabase;
import io.watershed.spi.WatershedException;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The registry on both state databases: SQLite in the data directory, and PostgreSQL (metadata.url). */
class ModelRegistryTest {
    static EmbeddedPostgres postgres;

    @TempDir
    Path data;

    @BeforeAll
    static void startPostgres() throws Exception {
        postgres = EmbeddedPostgres.builder().start();
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }

    static Stream<String> databases() {
        return Stream.of("sqlite", "postgresql");
    }

    private StateDatabase database(String kind, String schema) {
        Optional<String> url = kind.equals("sqlite") ? Optional.empty() : Optional.of(postgres.getJdbcUrl("postgres", "postgres"));
        return StateDatabase.of(new Settings.Metadata(url, url.map(u -> "postgres"), Secret.of(""), schema, Optional.of("test"),
                Duration.ofSeconds(10)), data);
    }

    private static ModelVersion draft(double rmse) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("rmse", rmse);
        metrics.put("mae", rmse / 2);
        return new ModelVersion("price", 0, ModelVersion.CANDIDATE, Instant.EPOCH, Instant.EPOCH, "lightgbm", "regression",
                Map.of("objective", "regression", "num_iterations", "100"), metrics, 800, 200,
                List.of(new Feature("size", "DOUBLE"), new Feature("rooms", "BIGINT")), "price",
                Map.of("raw.listings", 5127318820348811017L), "", "", 42, "SELECT size, rooms, price FROM committed.raw.listings");
    }

    @ParameterizedTest
    @MethodSource("databases")
    void keepsVersionsWholeAndOneInProduction(String kind) {
        Clock clock = Clock.fixed(Instant.parse("2026-12-07T10:00:00Z"), ZoneOffset.UTC);
        try (ModelRegistry registry = new ModelRegistry(database(kind, "ml_a"), clock)) {
            ModelVersion v1 = registry.add(draft(0.3), n -> new ModelRegistry.Stored("ml/price/v" + n + ".txt", "ab" + n));
            ModelVersion v2 = registry.add(draft(0.2), n -> new ModelRegistry.Stored("ml/price/v" + n + ".txt", "ab" + n));
            assertThat(v1.version()).isEqualTo(1);
            assertThat(v2.version()).isEqualTo(2);
            assertThat(registry.version("price", 2)).contains(v2);
            assertThat(v2.snapshots()).containsEntry("raw.listings", 5127318820348811017L); // past 2^53: kept exactly
            assertThat(v2.metrics().keySet()).containsExactly("rmse", "mae");
            assertThat(v2.artifact()).isEqualTo("ml/price/v2.txt");
            assertThat(v2.createdAt()).isEqualTo(clock.instant());

            registry.promote("price", 1);
            registry.promote("price", 2);
            assertThat(registry.versions("price")).extracting(ModelVersion::version, ModelVersion::stage).containsExactly(
                    org.assertj.core.groups.Tuple.tuple(2, ModelVersion.PRODUCTION),
                    org.assertj.core.groups.Tuple.tuple(1, ModelVersion.ARCHIVED));
            assertThatThrownBy(() -> registry.promote("price", 9))
                    .isInstanceOfSatisfying(WatershedException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_MODEL));
            assertThat(registry.production("price")).map(ModelVersion::version).contains(2);
            assertThat(registry.versions("other")).isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("databases")
    void aFailedArtifactWriteLeavesNoVersion(String kind) {
        try (ModelRegistry registry = new ModelRegistry(database(kind, "ml_b"), Clock.systemUTC())) {
            assertThatThrownBy(() -> registry.add(draft(0.3), n -> {
                throw new java.io.UncheckedIOException(new java.io.IOException("disk full"));
            })).hasMessageContaining("disk full");
            assertThat(registry.versions("price")).isEmpty();
            assertThat(registry.add(draft(0.3), n -> new ModelRegistry.Stored("ml/price/v" + n + ".txt", "x")).version()).isEqualTo(1);
        }
    }
}
