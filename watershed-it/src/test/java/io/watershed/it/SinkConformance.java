package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.testing.Await;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The conformance suite of the sinks a pipeline writes with {@code INSERT INTO sinks.<name>}, against a real store
 * that each subclass starts (one per class): what the store holds equals the same query computed over the lake
 * ({@code raw.clicks} through {@code /v1/sql}) after each batch of events, across SIGKILLs of the platform in the
 * middle of a batch. Three sinks: an updating aggregate (upserts by its key), a filter over it whose rows leave it
 * (retractions become deletes), and an append-only query written by a key (a replay after a kill writes the same rows
 * again, not twice). The last batch meets a stopped store, started again once a write has failed. The sink's password
 * is in no answer of the API and in no line of the platform's log.
 *
 * <p>Kills: {@code -Dwatershed.sink.kills=N} (1 unless set).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class SinkConformance {
    static final String SECRET = "sink-secret-4711";
    private static final int BATCH = 1000;
    private static final int KILLS = Integer.getInteger("watershed.sink.kills", 1);
    private static final Duration WAIT = Duration.ofSeconds(180);

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path root;

    /**
     * The lines of a sink file that say which store it writes and how to reach it: its {@code type}, where the sinks
     * create their tables, and a user who may create them, whose {@code password} is {@link #SECRET}.
     */
    abstract String connection();

    /**
     * The store's answer to {@code query}, each row its values joined by single spaces. The queries are plain {@code
     * SELECT columns FROM table} and {@code SELECT count(*) FROM table}, which SQL and CQL read alike; the table is named
     * as the sink (where the sinks create their tables).
     */
    abstract List<String> storeRows(String query) throws Exception;

    /** Runs a statement in the store's database (the DDL of a table the test declares itself). */
    void execute(String statement) throws Exception {
        throw new UnsupportedOperationException("no statements on this store");
    }

    /**
     * The DDL of a table {@code orders_strict (id, customer, amount)} whose store refuses a negative amount and a customer
     * longer than 8 characters; empty where the store cannot refuse values (Cassandra takes any value of a column's type).
     */
    java.util.Optional<String> refusingTable() {
        return java.util.Optional.of("CREATE TABLE orders_strict (id bigint PRIMARY KEY, customer varchar(8) NOT NULL, "
                + "amount int NOT NULL CHECK (amount >= 0))");
    }

    /** Stops the store, keeping its data. */
    abstract void stopStore() throws Exception;

    /** Starts the stopped store again, at the same address. */
    abstract void startStore() throws Exception;

    private String sink(String settings) {
        return connection() + "\n" + settings + "\n";
    }

    @Test
    void sinkTablesEqualTheSameQueriesOverTheLakeAcrossKillNine() throws Exception {
        Path project = TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 1000000")
                .stream("clicks", "partitions: 2\nfields:\n  id: long\n  visitor: string\n  page: string\n")
                .file("sinks/page_counts.yaml", sink("key: [page]"))
                .file("sinks/rare_pages.yaml", sink("key: page\nflush_interval: 300ms"))
                .file("sinks/click_log.yaml", sink("key: [id]\nbatch_size: 200"))
                .pipeline("counts", """
                        INSERT INTO sinks.page_counts
                        SELECT page, COUNT(*) AS hits, COUNT(DISTINCT visitor) AS visitors FROM streams.clicks GROUP BY page;
                        INSERT INTO sinks.rare_pages
                        SELECT page, hits FROM (SELECT page, COUNT(*) AS hits FROM streams.clicks GROUP BY page) WHERE hits < 3;
                        """)
                .pipeline("log", "INSERT INTO sinks.click_log SELECT id, visitor, page FROM streams.clicks;\n")
                .write();
        Path data = root.resolve("data");
        Path log = root.resolve("platform.log");
        int batches = KILLS + 2;
        for (int batch = 0; batch < batches; batch++) {
            try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
                WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
                http.awaitPipelinesRunning(2, WAIT);
                if (batch == 0) {
                    send(http, 0, BATCH);
                    awaitStoreEqualsLake(http, BATCH, log);
                    assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
                    continue;
                }
                long before = storeCount("click_log");
                if (batch == batches - 1) {
                    // the last batch meets a stopped store: its writes fail, the pipelines restart until it is back
                    stopStore();
                    send(http, batch * BATCH, (batch + 1) * BATCH);
                    Await.until("a failed write to the stopped store", WAIT, () -> sinkErrors(http) > 0);
                    startStore();
                    awaitStoreEqualsLake(http, (batch + 1) * BATCH, log);
                    assertThat(storeRows("SELECT page, hits FROM rare_pages")).as("pages that reached 3 hits were deleted")
                            .hasSizeLessThan(130);
                    assertThat(http.get("/v1/pipelines").body()).contains("sinks.page_counts", "sinks.rare_pages", "sinks.click_log")
                            .doesNotContain(SECRET);
                    assertThat(http.get("/v1/lineage").body()).contains("sink:page_counts").doesNotContain(SECRET);
                    assertThat(http.get("/v1/pipelines").json().path("sinks").findValuesAsText("name"))
                            .containsExactly("click_log", "page_counts", "rare_pages");
                    assertThat(http.get("/v1/pipelines").json().path("sinks").get(0).path("rows_written").asLong())
                            .as("click_log's rows written since this start").isPositive();
                    assertThat(http.get("/metrics").body()).containsPattern("watershed_sink_rows_written_total\\{sink=\"click_log\",?} [1-9]")
                            .contains("watershed_sink_errors_total{sink=\"page_counts\"", "watershed_sink_flush_seconds{sink=\"rare_pages\"");
                    assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
                    break;
                }
                send(http, batch * BATCH, (batch + 1) * BATCH);
                // kill once the sink has written something of this batch, while the rest may be on its way
                Await.until("progress of sinks.click_log in batch " + batch, WAIT, () -> storeCount("click_log") > before);
                platform.kill();
            }
        }
        assertThat(Files.readString(log)).as("the platform's log").doesNotContain(SECRET);
    }

    /**
     * Rows whose key is NULL, and rows the store refuses (where it can: a CHECK and a value too long for the column, both
     * of a table the user made), land in {@code <table>__dlq} with the reason, each once; the rest lands and the pipeline
     * never restarts.
     */
    @Test
    void refusedRowsAreDeadLetteredAndThePipelineGoesOn() throws Exception {
        boolean strict = refusingTable().isPresent();
        if (strict) {
            execute(refusingTable().get());
        }
        TestProject project = TestProject.in(root.resolve("refusing"))
                .stream("orders", "partitions: 2\nfields:\n  id: long\n  customer: string\n  amount: int\n")
                .file("sinks/strict.yaml", sink("table: orders_strict\nkey: id"))
                .pipeline("strict", "INSERT INTO sinks.strict SELECT id, customer, amount FROM streams.orders;\n");
        try (io.watershed.server.Platform platform = io.watershed.server.Platform.start(project.load(), root.resolve("refusing-data"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            http.awaitPipelinesRunning(1, WAIT);
            StringBuilder body = new StringBuilder();
            int refused = 0;
            for (int id = 0; id < 300; id++) {
                boolean negative = strict && id % 20 == 5;
                boolean tooLong = strict && id % 50 == 7;
                refused += negative || tooLong ? 1 : 0;
                body.append("{\"id\":").append(id).append(",\"customer\":\"").append(tooLong ? "much-too-long" : "c" + id % 7)
                        .append("\",\"amount\":").append(negative ? -1 : id).append("}\n");
            }
            body.append("{\"customer\":\"nokey\",\"amount\":1}\n{\"customer\":\"nokey2\",\"amount\":2}\n");
            assertThat(http.events("orders", body.toString()).status()).isEqualTo(200);
            int deadLetters = refused + 2;
            int taken = 300 - refused;
            List<String> lake = sorted(Await.until(taken + " rows the store takes in raw.orders", WAIT, () -> count(http,
                    "SELECT count(*) FROM raw.orders") == 302 ? http.rows("SELECT id, customer, amount FROM raw.orders WHERE id IS NOT NULL "
                    + "AND amount >= 0 AND length(customer) <= 8") : List.<String>of(), rows -> rows.size() == taken));
            Await.until("orders_strict to hold the rows the store takes", WAIT, () -> {
                try {
                    return sorted(storeRows("SELECT id, customer, amount FROM orders_strict"));
                } catch (Exception e) {
                    return List.of(e.getMessage());
                }
            }, lake::equals);
            Await.until(deadLetters + " dead letters in orders_strict__dlq", WAIT, () -> storeCount("orders_strict__dlq") == deadLetters);
            List<String> letters = storeRows("SELECT reason, row_json FROM orders_strict__dlq");
            assertThat(letters.stream().filter(r -> r.contains("nokey"))).as("the NULL keys' dead letters")
                    .hasSize(2).allMatch(r -> r.contains("key column id is NULL"));
            if (strict) {
                assertThat(letters.stream().filter(r -> r.contains("much-too-long"))).hasSize(300 / 50);
                assertThat(letters.stream().filter(r -> r.contains("\"amount\":-1"))).hasSize(300 / 20);
                assertThat(storeRows("SELECT sql_state FROM orders_strict__dlq WHERE row_json LIKE '%much-too-long%'"))
                        .as("a value too long is SQLSTATE class 22").allMatch(r -> r.startsWith("22"));
            }
            com.fasterxml.jackson.databind.JsonNode status = http.get("/v1/pipelines").json();
            assertThat(status.path("sinks").get(0).path("dead_letters").asLong()).isEqualTo(deadLetters);
            assertThat(status.path("pipelines").get(0).path("restarts").asInt()).as("the pipeline never restarted").isZero();
            assertThat(http.get("/metrics").body()).contains("watershed_sink_dead_letters_total{sink=\"strict\"} " + deadLetters + ".0");
        }
    }

    private void awaitStoreEqualsLake(WatershedHttp http, long sent, Path log) {
        Await.until("raw.clicks to hold " + sent + " events", WAIT, () -> count(http, "SELECT count(*) FROM raw.clicks") >= sent);
        Map<String, String[]> checks = Map.of(
                "page_counts", new String[] {"SELECT page, hits, visitors FROM page_counts",
                        "SELECT page, count(*), count(DISTINCT visitor) FROM raw.clicks GROUP BY page"},
                "rare_pages", new String[] {"SELECT page, hits FROM rare_pages",
                        "SELECT page, count(*) FROM raw.clicks GROUP BY page HAVING count(*) < 3"},
                "click_log", new String[] {"SELECT id, visitor, page FROM click_log", "SELECT id, visitor, page FROM raw.clicks"});
        for (Map.Entry<String, String[]> check : checks.entrySet()) {
            List<String> lake = sorted(http.rows(check.getValue()[1]));
            Supplier<List<String>> store = () -> {
                try {
                    return sorted(storeRows(check.getValue()[0]));
                } catch (Exception e) {
                    return List.of("cannot read the store: " + e.getMessage());
                }
            };
            try {
                Await.until("sinks." + check.getKey() + " to equal the same query over raw.clicks (" + lake.size() + " rows)", WAIT,
                        store, lake::equals);
            } catch (AssertionError e) {
                List<String> actual = store.get();
                List<String> missing = new ArrayList<>(lake);
                missing.removeAll(actual);
                List<String> extra = new ArrayList<>(actual);
                extra.removeAll(lake);
                throw new AssertionError(e.getMessage() + "; store has " + actual.size() + " rows, missing " + head(missing)
                        + ", extra " + head(extra) + "\nThe platform's last warnings and errors:\n" + PlatformProcess.problems(log, 40));
            }
        }
    }

    private static long sinkErrors(WatershedHttp http) {
        long errors = 0;
        for (com.fasterxml.jackson.databind.JsonNode sink : http.get("/v1/pipelines").json().path("sinks")) {
            errors += sink.path("errors").asLong();
        }
        return errors;
    }

    private long storeCount(String table) {
        try {
            return Long.parseLong(storeRows("SELECT count(*) FROM " + table).get(0));
        } catch (Exception e) {
            return -1; // the table is created with the first write
        }
    }

    private static List<String> head(List<String> rows) {
        return rows.subList(0, Math.min(10, rows.size()));
    }

    private static List<String> sorted(List<String> rows) {
        List<String> copy = new ArrayList<>(rows);
        java.util.Collections.sort(copy);
        return copy;
    }

    /** Page {@code r<n>} is hit by every tenth event, each of 130 such pages once per 1300 events; the rest by 37 pages. */
    private static String page(long id) {
        return id % 10 == 0 ? "r" + (id / 10 % 130) : "p" + (id % 37);
    }

    private static void send(WatershedHttp http, int from, int to) {
        for (int start = from; start < to; start += 250) {
            StringBuilder body = new StringBuilder();
            for (int id = start; id < Math.min(to, start + 250); id++) {
                body.append("{\"id\":").append(id).append(",\"visitor\":\"v").append(id % 11).append("\",\"page\":\"")
                        .append(page(id)).append("\"}\n");
            }
            WatershedHttp.Response response = http.events("clicks", body.toString());
            assertThat(response.status()).as(response.body()).isEqualTo(200);
        }
    }

    /** The count, or -1 while the table is not there yet. */
    private static long count(WatershedHttp http, String sql) {
        WatershedHttp.Response response = http.sql(sql);
        return response.status() == 200 ? response.json().path("rows").get(0).get(0).asLong() : -1;
    }
}
