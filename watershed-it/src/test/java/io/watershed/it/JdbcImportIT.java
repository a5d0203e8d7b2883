package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Imports from a real PostgreSQL server (binaries from Maven Central): incremental by id, resuming where the last
 * run ended across restarts and a kill -9 in the middle of a run; full with a key, after which {@code state.<stream>}
 * equals the table — inserts, updates and deletes included.
 */
class JdbcImportIT {
    static EmbeddedPostgres postgres;
    @TempDir
    Path root;

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

    static void sql(String... statements) throws Exception {
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
        }
    }

    static List<String> pgRows(String query) throws Exception {
        return SqlRows.of(postgres.getPostgresDatabase().getConnection(), query);
    }

    String url() {
        return "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres";
    }

    TestProject project(String name) {
        return TestProject.in(root.resolve(name)).yaml("query:\n  max_rows: 500000").ingest("auto_create_streams", "false");
    }

    static void awaitExactly(WatershedHttp http, String table, long n) {
        Await.until(n + " rows in " + table + ", each once", Duration.ofSeconds(120),
                () -> http.rows("SELECT count(*), count(DISTINCT id) FROM " + table),
                rows -> rows.equals(List.of(n + " " + n)));
    }

    @Test
    void incrementalImportResumesWhereTheLastRunEnded() throws Exception {
        sql("CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer text NOT NULL, amount numeric(10,2), "
                        + "placed_at timestamptz NOT NULL DEFAULT now(), note text)",
                "INSERT INTO public.orders (customer, amount, note) SELECT 'c' || (i % 37), i * 1.25, CASE WHEN i % 10 = 0 "
                        + "THEN 'naïve 🌊' END FROM generate_series(1, 2500) i");
        TestProject project = project("inc").stream("orders", "partitions: 2\nsources:\n  - type: jdbc\n    url: " + url()
                + "\n    user: postgres\n    password: ${PG_PASSWORD:-pg-secret-7}\n    table: public.orders\n    mode: incremental\n"
                + "    column: id\n    schedule: '@daily'\n    batch_rows: 1000\n")
                // by a timestamp: all rows of one INSERT share now(), so batches must not split rows of one value
                .stream("orders_by_time", "partitions: 1\nsources:\n  - type: jdbc\n    url: " + url()
                        + "\n    user: postgres\n    password: postgres\n    table: public.orders\n    column: placed_at\n"
                        + "    schedule: '@daily'\n    batch_rows: 300\n");
        Path data = root.resolve("inc-data");
        try (Platform platform = Platform.start(project.load(), data)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            awaitExactly(http, "raw.orders", 2500); // the first run starts at once
            awaitExactly(http, "raw.orders_by_time", 2500);
            sql("INSERT INTO public.orders (customer, amount) SELECT 'late', i FROM generate_series(1, 700) i");
            assertThat(http.post("/v1/sources/orders.jdbc/run", new byte[0]).status()).isEqualTo(202);
            assertThat(http.post("/v1/sources/orders_by_time.jdbc/run", new byte[0]).status()).isEqualTo(202);
            awaitExactly(http, "raw.orders", 3200);
            awaitExactly(http, "raw.orders_by_time", 3200);
            assertThat(http.rows("SELECT customer, amount, note FROM raw.orders WHERE id = 10"))
                    .containsExactly("c10 12.5 naïve 🌊");
            assertThat(http.post("/v1/sources/nope.jdbc/run", new byte[0]).status()).isEqualTo(404);
            // the watermark is saved just after the bus commit, so the rows can be queried a moment before it shows
            String sources = Await.until("the watermark 3200 in /v1/sources", Duration.ofSeconds(30),
                    () -> http.get("/v1/sources").body(), body -> body.contains("\"watermark\":\"3200\""));
            assertThat(sources).contains("\"password\":\"****\"").doesNotContain("pg-secret-7");
        }
        sql("INSERT INTO public.orders (customer, amount) SELECT 'after-restart', i FROM generate_series(1, 300) i");
        try (Platform platform = Platform.start(project.load(), data)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            http.post("/v1/sources/orders.jdbc/run", new byte[0]);
            http.post("/v1/sources/orders_by_time.jdbc/run", new byte[0]);
            awaitExactly(http, "raw.orders", 3500);
            awaitExactly(http, "raw.orders_by_time", 3500);
        }
    }

    @Test
    void aKillNineInTheMiddleOfAnImportLosesAndDoublesNothing() throws Exception {
        sql("CREATE TABLE public.clicks (id bigint PRIMARY KEY, page text NOT NULL, pad text NOT NULL)",
                "INSERT INTO public.clicks SELECT i, '/p/' || (i % 500), repeat('x', 200) FROM generate_series(1, 300000) i");
        Path project = project("crash").stream("clicks", "partitions: 2\nsources:\n  - type: jdbc\n    url: " + url()
                + "\n    user: postgres\n    password: postgres\n    table: public.clicks\n    column: id\n"
                + "    schedule: '@daily'\n    batch_rows: 2000\n").write();
        Path data = root.resolve("crash-data");
        PlatformProcess platform = PlatformProcess.start(project, data, root.resolve("crash.log"));
        try {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            Await.until("the import to be under way", Duration.ofSeconds(120), () -> http.sql("SELECT 1 FROM raw.clicks").status() == 200
                    && http.count("SELECT count(*) FROM raw.clicks") >= 20_000);
            platform.kill();
            long landedBeforeKill = 20_000;
            platform = PlatformProcess.start(project, data, root.resolve("crash.log"));
            WatershedHttp again = new WatershedHttp(platform.url(), platform.adminToken());
            awaitExactly(again, "raw.clicks", 300_000);
            assertThat(again.count("SELECT count(*) FROM raw.clicks")).isGreaterThan(landedBeforeKill);
        } finally {
            platform.close();
        }
    }

    @Test
    void aKeyedFullImportKeepsTheStateTableEqualToTheSourceTable() throws Exception {
        sql("CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL, tier text, credit numeric(8,2))",
                "INSERT INTO public.customers SELECT i, 'name ' || i, CASE WHEN i % 3 = 0 THEN 'gold' END, i * 10 "
                        + "FROM generate_series(1, 120) i");
        TestProject project = project("full").stream("customers", "partitions: 2\nkey: id\nsources:\n  - type: jdbc\n    url: "
                + url() + "\n    user: postgres\n    password: postgres\n    table: public.customers\n    mode: full\n"
                + "    schedule: '@daily'\n    batch_rows: 50\n");
        // cents as integers: DuckDB holds the imported numeric as a double
        String lake = "SELECT id, name, tier, CAST(round(credit * 100) AS BIGINT) FROM state.customers ORDER BY id";
        String source = "SELECT id, name, tier, (credit * 100)::bigint FROM customers ORDER BY id";
        try (Platform platform = Platform.start(project.load(), root.resolve("full-data"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            Await.until("state.customers equal to the table", Duration.ofSeconds(120),
                    () -> http.rows(lake), rows -> rows.equals(pgRowsQuietly(source)));
            sql("UPDATE public.customers SET tier = 'platinum', credit = credit + 0.5 WHERE id <= 10",
                    "DELETE FROM public.customers WHERE id BETWEEN 50 AND 54",
                    "INSERT INTO public.customers VALUES (500, 'new one', NULL, 1.25), (501, 'another', 'gold', 0)");
            http.post("/v1/sources/customers.jdbc/run", new byte[0]);
            Await.until("state.customers equal to the changed table", Duration.ofSeconds(120),
                    () -> http.rows(lake), rows -> rows.equals(pgRowsQuietly(source)));
            assertThat(http.count("SELECT count(DISTINCT import_run) FROM raw.customers")).isEqualTo(2);
            Await.until("the five deletes in raw.customers", Duration.ofSeconds(60),
                    () -> http.rows("SELECT id FROM committed.raw.customers WHERE __op = 'd' ORDER BY id"),
                    rows -> rows.equals(List.of("50", "51", "52", "53", "54")));
        }
    }

    static List<String> pgRowsQuietly(String query) {
        try {
            return pgRows(query);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
