package io.watershed.ingest.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.Secret;
import io.watershed.spi.Settings;
import io.watershed.spi.StateDatabase;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JDBC import's watermark, last run and keys, kept in {@code sources.db} and in a real PostgreSQL ({@code metadata.url}):
 * what one instance saved, the next one (or another instance) reads.
 */
class ImportStateTest {
    @TempDir
    Path dir;

    @Test
    void onSqlite() {
        check(StateDatabase.local(dir));
    }

    @Test
    void onPostgres() throws Exception {
        try (EmbeddedPostgres postgres = EmbeddedPostgres.builder().start()) {
            check(StateDatabase.of(Settings.Metadata.postgres(postgres.getJdbcUrl("postgres", "postgres"),
                    "postgres", Secret.of(""), "watershed"), dir));
        }
    }

    private static void check(StateDatabase database) {
        Instant at = Instant.parse("2026-12-07T05:00:00Z");
        try (ImportState one = new ImportState(database)) {
            one.watermark("orders.jdbc", "2026-12-06T23:59:59", "timestamp");
            one.watermark("orders.jdbc", "2026-12-07T00:00:00", "timestamp");
            one.finished("orders.jdbc", at);
            one.keys("customers.jdbc", List.of("1", "2", "3"), "run-1");
            one.keys("customers.jdbc", List.of("1", "3"), "run-2");
        }
        try (ImportState next = new ImportState(database)) {
            assertThat(next.watermark("orders.jdbc")).contains("2026-12-07T00:00:00");
            assertThat(next.watermarkType("orders.jdbc")).contains("timestamp");
            assertThat(next.lastRun("orders.jdbc")).contains(at);
            assertThat(next.keysNotIn("customers.jdbc", "run-2")).as("deleted at the source").containsExactly("2");
            next.forgetKeysNotIn("customers.jdbc", "run-2");
            assertThat(next.keysNotIn("customers.jdbc", "run-2")).isEmpty();
            assertThat(next.watermark("nothing")).isEmpty();
        }
    }
}
