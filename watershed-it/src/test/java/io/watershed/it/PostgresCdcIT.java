package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Change data capture from a real PostgreSQL server (logical decoding, pgoutput) with Debezium's embedded engine:
 * the initial snapshot, then inserts, updates, deletes and a truncate, also made while the platform is down;
 * {@code state.accounts} equals the table after each step, and {@code raw.accounts} holds each change once.
 */
class PostgresCdcIT {
    static EmbeddedPostgres postgres;
    @TempDir
    Path root;

    @BeforeAll
    static void start() throws Exception {
        postgres = EmbeddedPostgres.builder().setServerConfig("wal_level", "logical").setServerConfig("max_replication_slots", "4")
                .setServerConfig("max_wal_senders", "4").start();
        JdbcImportIT.postgres = postgres; // its SQL helpers
    }

    @AfterAll
    static void stop() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }

    static final String LAKE = "SELECT id, owner, CAST(round(balance * 100) AS BIGINT), CAST(opened AS VARCHAR), "
            + "strftime(CAST(updated_at AS TIMESTAMP), '%Y-%m-%d %H:%M:%S') FROM state.accounts ORDER BY id";
    static final String SOURCE = "SELECT id, owner, (balance * 100)::bigint, opened::text, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') "
            + "FROM accounts ORDER BY id";

    static void awaitEqual(WatershedHttp http, String what) {
        Await.until("state.accounts equal to the table " + what, Duration.ofSeconds(120), () -> http.rows(LAKE),
                rows -> rows.equals(JdbcImportIT.pgRowsQuietly(SOURCE)));
    }

    @Test
    void theStateTableFollowsInsertsUpdatesDeletesAndTruncateAcrossRestarts() throws Exception {
        JdbcImportIT.sql("CREATE TABLE public.accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(10,2), opened date, "
                        + "updated_at timestamp NOT NULL DEFAULT '2026-01-02 03:04:05')",
                "INSERT INTO public.accounts SELECT i, 'owner ' || i, i * 1.5, DATE '2025-01-01' + i, "
                        + "TIMESTAMP '2026-01-01 00:00:00' + i * INTERVAL '1 minute' FROM generate_series(1, 200) i");
        TestProject project = TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 100000").ingest("auto_create_streams", "false")
                .stream("accounts", "partitions: 2\nkey: id\nsources:\n  - type: cdc\n    url: jdbc:postgresql://localhost:"
                        + postgres.getPort() + "/postgres\n    user: postgres\n    password: ${PG_PASSWORD:-pg-secret-7}\n"
                        + "    table: public.accounts\n");
        Path data = root.resolve("data");
        try (Platform platform = Platform.start(project.load(), data)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            awaitEqual(http, "after the snapshot");
            JdbcImportIT.sql("UPDATE accounts SET balance = balance + 100, owner = 'rich ' || id WHERE id % 10 = 0",
                    "DELETE FROM accounts WHERE id BETWEEN 20 AND 29",
                    "INSERT INTO accounts VALUES (1000, 'naïve 🌊', 0.01, NULL, '2026-11-22 10:00:00')");
            awaitEqual(http, "after inserts, updates and deletes");
            assertThat(http.get("/v1/sources").body()).contains("\"type\":\"cdc\"", "\"password\":\"****\"").doesNotContain("pg-secret-7");
        }
        // while the platform is down, the database goes on
        JdbcImportIT.sql("UPDATE accounts SET owner = 'while down' WHERE id <= 5", "DELETE FROM accounts WHERE id = 1000",
                "INSERT INTO accounts SELECT i, 'late ' || i, i, NULL, '2026-11-22 11:00:00' FROM generate_series(2000, 2049) i");
        try (Platform platform = Platform.start(project.load(), data)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            awaitEqual(http, "after the changes made while the platform was down");
            JdbcImportIT.sql("TRUNCATE accounts", "INSERT INTO accounts VALUES (7, 'after truncate', 7, NULL, '2026-11-22 12:00:00')");
            awaitEqual(http, "after a truncate");
            Await.until("every change in raw.accounts", Duration.ofSeconds(60),
                    () -> http.rows("SELECT __op, count(*) FROM committed.raw.accounts GROUP BY 1 ORDER BY 1"),
                    rows -> rows.equals(List.of("c 52", "d 11", "r 200", "t 1", "u 25")));
            assertThat(http.rows("SELECT __position, count(*) FROM raw.accounts WHERE __op <> 'r' GROUP BY 1 HAVING count(*) > 1"))
                    .as("no change twice").isEmpty();
        }
    }
}
