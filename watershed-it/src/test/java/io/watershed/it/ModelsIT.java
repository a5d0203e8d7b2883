package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.lake.IcebergLake;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batch models on the real engines: Flink builds them from the lake in batch mode, Iceberg holds them, and
 * DuckDB, computing the same results from the same Parquet files, says whether they are right.
 */
class ModelsIT {
    static final int ORDERS = 3_000;
    static final String[] PRODUCTS = {"anvil", "bolt", "cog", "drill", "epoxy", "file", "gear"};

    @TempDir
    Path root;

    static TestProject project(Path directory) {
        return TestProject.in(directory)
                .stream("orders", "partitions: 2\nfields:\n  order_id: long\n  product: string\n  amount: double\n  ts: timestamp\n")
                // level 1: sales per day and product
                .model("daily_sales", """
                        -- description: orders and revenue per day and product
                        -- schedule: @daily
                        SELECT CAST(ts AS DATE) AS `day`, product, COUNT(*) AS orders, SUM(amount) AS revenue
                        FROM raw.orders
                        GROUP BY CAST(ts AS DATE), product;
                        """)
                // level 2: the top three products of each day
                .model("daily_top", """
                        SELECT `day`, product, revenue, rn AS `rank`
                        FROM (
                          SELECT `day`, product, revenue,
                                 ROW_NUMBER() OVER (PARTITION BY `day` ORDER BY revenue DESC, product) AS rn
                          FROM daily_sales
                        )
                        WHERE rn <= 3
                        """)
                // level 3: how often each product made the top three, from level 2 and level 1
                .model("product_summary", """
                        SELECT t.product, COUNT(*) AS days_on_top, SUM(t.revenue) AS top_revenue, MAX(s.orders) AS best_day_orders
                        FROM models.daily_top AS t
                        JOIN daily_sales AS s ON s.`day` = t.`day` AND s.product = t.product
                        GROUP BY t.product
                        """)
                .model("daily_revenue", """
                        -- materialized: incremental
                        -- partition_by: day
                        -- grain: day
                        SELECT CAST(ts AS DATE) AS `day`, COUNT(*) AS orders, SUM(amount) AS revenue
                        FROM raw.orders
                        WHERE ts >= {{ start }} AND ts < {{ end }}
                        GROUP BY CAST(ts AS DATE)
                        """)
                .file("checks/sales.yaml", """
                        models.daily_sales:
                          - not_null: [day, product]
                          - unique: [day, product]
                          - sql: SELECT * FROM models.daily_sales WHERE revenue < 0
                            name: no_negative_revenue
                          - row_count: {min: 1, max: 100}
                        models.daily_top:
                          - accepted_values: {column: rank, values: ['1', '2', '3']}
                          - relationships: {column: product, to: models.daily_sales, field: product}
                          - row_count: {max: 2}
                            severity: warn
                          - freshness: {column: day, max_age: 1d}
                            severity: warn
                        """);
    }

    @Test
    void aThreeLevelDagMatchesDuckDbBackfillMakesOnePartitionPerDayAndAFailingCheckStopsDownstream() throws Exception {
        TestProject project = project(root.resolve("p"));
        Path data = root.resolve("d");
        try (Platform platform = Platform.start(project.load(), data)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            Random random = new Random(42);
            Instant day0 = Instant.parse("2026-11-01T00:00:00Z");
            StringBuilder body = new StringBuilder();
            for (int i = 0; i < ORDERS; i++) {
                Instant ts = day0.plusSeconds(random.nextInt(3 * 86_400));
                body.append(String.format(java.util.Locale.ROOT, "{\"order_id\":%d,\"product\":\"%s\",\"amount\":%.2f,\"ts\":\"%s\"}%n",
                        i, PRODUCTS[random.nextInt(PRODUCTS.length)], 1 + random.nextInt(10_000) / 100.0, ts));
            }
            assertThat(http.events("orders", body.toString()).status()).isEqualTo(200);
            awaitCommitted(http, ORDERS);

            JsonNode run = awaitRun(http, http.post("/v1/runs", "{}".getBytes(StandardCharsets.UTF_8)).json());
            assertThat(run.path("state").asText()).as(run.toPrettyString()).isEqualTo("success");
            assertThat(run.path("steps")).hasSize(4);
            // dependency order: every model after those it reads
            List<String> order = new ArrayList<>();
            run.path("steps").forEach(s -> order.add(s.path("model").asText()));
            assertThat(order.indexOf("daily_sales")).isLessThan(order.indexOf("daily_top"));
            assertThat(order.indexOf("daily_top")).isLessThan(order.indexOf("product_summary"));
            JsonNode sales = step(run, "daily_sales");
            assertThat(sales.path("rows").asLong()).isEqualTo(3 * PRODUCTS.length);
            assertThat(sales.path("checks")).hasSize(4);
            sales.path("checks").forEach(c -> assertThat(c.path("status").asText()).as(c.toString()).isEqualTo("pass"));
            JsonNode topChecks = step(run, "daily_top").path("checks");
            assertThat(topChecks.get(2).path("status").asText()).isEqualTo("warn"); // 9 rows, warn-only max 2: reported only
            assertThat(topChecks.get(2).path("message").asText()).contains("has 9 rows; expected at most 2");
            assertThat(topChecks.get(3).path("status").asText()).isEqualTo("warn"); // the newest day is weeks old
            assertThat(topChecks.get(3).path("message").asText()).startsWith("newest day is 2026-11-03, ")
                    .endsWith("old; expected at most 1d");
            // warn-only checks that failed are alerts of their own, one per check
            List<String> checkAlerts = new ArrayList<>();
            http.get("/v1/alerts").json().path("alerts").forEach(a -> {
                if (a.path("kind").asText().equals("check")) {
                    checkAlerts.add(a.path("object").asText() + " " + a.path("severity").asText());
                }
            });
            assertThat(checkAlerts).containsExactlyInAnyOrder(
                    "check:models.daily_top/" + topChecks.get(2).path("name").asText() + " warning",
                    "check:models.daily_top/" + topChecks.get(3).path("name").asText() + " warning");

            // the same computations, done by DuckDB on the Parquet files of the same snapshot
            assertThat(http.rows("SELECT day, product, orders, round(revenue, 2) FROM models.daily_sales ORDER BY 1, 2"))
                    .hasSize(3 * PRODUCTS.length)
                    .isEqualTo(http.rows("SELECT CAST(ts AS DATE), product, count(*), round(sum(amount), 2) FROM committed.raw.orders "
                            + "GROUP BY 1, 2 ORDER BY 1, 2"));
            assertThat(http.rows("SELECT day, product, round(revenue, 2), rank FROM models.daily_top ORDER BY 1, 4"))
                    .hasSize(9)
                    .isEqualTo(http.rows("SELECT d, product, round(r, 2), rn FROM (SELECT d, product, r, row_number() OVER "
                            + "(PARTITION BY d ORDER BY r DESC, product) AS rn FROM (SELECT CAST(ts AS DATE) AS d, product, "
                            + "sum(amount) AS r FROM committed.raw.orders GROUP BY 1, 2)) WHERE rn <= 3 ORDER BY 1, 4"));
            assertThat(http.rows("SELECT product, days_on_top, round(top_revenue, 2), best_day_orders FROM models.product_summary "
                    + "ORDER BY 1"))
                    .isNotEmpty()
                    .isEqualTo(http.rows("WITH s AS (SELECT CAST(ts AS DATE) AS d, product, count(*) AS o, sum(amount) AS r "
                            + "FROM committed.raw.orders GROUP BY 1, 2), t AS (SELECT * FROM (SELECT *, row_number() OVER "
                            + "(PARTITION BY d ORDER BY r DESC, product) AS rn FROM s) WHERE rn <= 3) SELECT t.product, count(*), "
                            + "round(sum(t.r), 2), max(s.o) FROM t JOIN s ON s.d = t.d AND s.product = t.product GROUP BY 1 ORDER BY 1"));

            // backfill three days of the incremental model: one run, one build and one partition per day
            JsonNode backfill = http.post("/v1/backfills", """
                    {"model": "daily_revenue", "from": "2026-11-01", "to": "2026-11-03"}""".getBytes(StandardCharsets.UTF_8)).json();
            assertThat(backfill.path("runs")).hasSize(3);
            List<String> days = new ArrayList<>();
            for (JsonNode started : backfill.path("runs")) {
                JsonNode done = awaitRun(http, started);
                assertThat(done.path("state").asText()).as(done.toPrettyString()).isEqualTo("success");
                assertThat(done.path("steps")).hasSize(1);
                days.add(done.path("steps").get(0).path("start").asText());
            }
            assertThat(days).containsExactly("2026-11-01T00:00", "2026-11-02T00:00", "2026-11-03T00:00");
            String perDay = "SELECT CAST(ts AS DATE), count(*), round(sum(amount), 2) FROM committed.raw.orders GROUP BY 1 ORDER BY 1";
            assertThat(http.rows("SELECT day, orders, round(revenue, 2) FROM models.daily_revenue ORDER BY 1"))
                    .isEqualTo(http.rows(perDay)).hasSize(3);
            assertThat(partitions(data, "daily_revenue")).containsExactly("day=2026-11-01", "day=2026-11-02", "day=2026-11-03");
            // the same day again replaces that partition only
            JsonNode again = awaitRun(http, http.post("/v1/backfills", """
                    {"model": "daily_revenue", "from": "2026-11-02", "to": "2026-11-02"}""".getBytes(StandardCharsets.UTF_8)).json()
                    .path("runs").get(0));
            assertThat(again.path("state").asText()).isEqualTo("success");
            assertThat(http.rows("SELECT day, orders, round(revenue, 2) FROM models.daily_revenue ORDER BY 1")).isEqualTo(http.rows(perDay));
            assertThat(partitions(data, "daily_revenue")).hasSize(3);

            // a refund with a negative amount makes daily_sales fail its check: the models that read it do not run
            assertThat(http.events("orders", "{\"order_id\":9999999,\"product\":\"anvil\",\"amount\":-1e6,\"ts\":\"2026-11-02T12:00:00Z\"}")
                    .status()).isEqualTo(200);
            awaitCommitted(http, ORDERS + 1);
            JsonNode failed = awaitRun(http, http.post("/v1/runs", "{\"models\": [\"daily_sales+\"]}".getBytes(StandardCharsets.UTF_8))
                    .json());
            assertThat(failed.path("state").asText()).isEqualTo("failed");
            assertThat(failed.path("error").asText()).contains("daily_sales").contains("no_negative_revenue");
            JsonNode failedSales = step(failed, "daily_sales");
            assertThat(failedSales.path("state").asText()).isEqualTo("failed");
            assertThat(failedSales.path("attempts").asInt()).isEqualTo(1); // a failing check is not retried
            JsonNode check = failedSales.path("checks").get(2);
            assertThat(check.path("status").asText()).isEqualTo("fail");
            assertThat(check.path("failing").asLong()).isEqualTo(1);
            assertThat(check.path("sample").get(0).toString()).contains("anvil").contains("2026-11-02");
            assertThat(check.path("location").asText()).isEqualTo("checks/sales.yaml:4:5");
            // the model's alert names the failed check; daily_top's warnings stand, its table unchanged
            JsonNode alerts = http.get("/v1/alerts").json().path("alerts");
            assertThat(alerts.findValuesAsText("object")).contains("model:daily_sales").doesNotContain("model:daily_top")
                    .filteredOn(o -> o.startsWith("check:")).hasSize(2);
            assertThat(alerts.toString()).contains("Model 'daily_sales' failed in run " + failed.path("id").asLong()
                    + ": check(s) failed on models.daily_sales: no_negative_revenue (");
            for (String downstream : List.of("daily_top", "product_summary")) {
                assertThat(step(failed, downstream).path("state").asText()).isEqualTo("upstream_failed");
                assertThat(step(failed, downstream).path("error").asText()).contains("daily_sales");
            }
            // a failed attempt that was retried counts as a failed build too; say why it failed, for CI's log
            int retried = sales.path("attempts").asInt() - 1;
            if (retried > 0) {
                System.out.println("daily_sales needed " + (retried + 1) + " attempts in its first run; the run's log: "
                        + http.get("/v1/runs/" + run.path("id").asLong() + "/log").body());
            }
            String metrics = http.get("/metrics").body();
            assertThat(metrics).contains("watershed_model_builds_total{model=\"daily_sales\",outcome=\"failure\"} " + (1 + retried) + ".0")
                    .contains("watershed_model_builds_total{model=\"daily_revenue\",outcome=\"success\"} 5.0")
                    .contains("watershed_model_rows_written_total{model=\"daily_top\"} 9.0");
            // checks on demand say the same
            JsonNode tested = http.post("/v1/checks/run", "{\"table\": \"models.daily_sales\"}".getBytes(StandardCharsets.UTF_8)).json();
            assertThat(tested.path("passed").asBoolean()).isFalse();

            // lineage: the stream, its raw table, and the three levels
            JsonNode lineage = http.get("/v1/lineage?of=models.daily_top").json();
            Set<String> edges = new TreeSet<>();
            lineage.path("edges").forEach(e -> edges.add(e.path("from").asText() + " -> " + e.path("to").asText()));
            assertThat(edges).contains("stream:orders -> table:raw.orders", "table:raw.orders -> model:daily_sales",
                    "model:daily_sales -> table:models.daily_sales", "table:models.daily_sales -> model:daily_top",
                    "model:daily_top -> table:models.daily_top", "table:models.daily_top -> model:product_summary")
                    .doesNotContain("table:raw.orders -> model:daily_revenue");
        }

        // the history outlives a restart
        try (Platform platform = Platform.start(project.load(), data)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            JsonNode runs = http.get("/v1/runs").json().path("runs");
            List<String> states = new ArrayList<>();
            runs.forEach(r -> states.add(r.path("id").asLong() + ":" + r.path("trigger").asText() + ":" + r.path("state").asText()));
            assertThat(states).containsExactly("6:manual:failed", "5:backfill:success", "4:backfill:success", "3:backfill:success",
                    "2:backfill:success", "1:manual:success");
            JsonNode models = http.get("/v1/models").json().path("models");
            assertThat(models.toString()).contains("\"name\":\"daily_sales\"").contains("\"last_state\":\"failed\"")
                    .contains("\"schedule\":\"@daily\"");
            assertThat(http.get("/v1/runs?model=daily_revenue").json().path("runs")).hasSize(5);
        }
    }

    static JsonNode step(JsonNode run, String model) {
        for (JsonNode s : run.path("steps")) {
            if (s.path("model").asText().equals(model)) {
                return s;
            }
        }
        throw new AssertionError("no step of " + model + " in " + run.toPrettyString());
    }

    static JsonNode awaitRun(WatershedHttp http, JsonNode started) {
        long id = started.path("id").asLong();
        assertThat(id).as(started.toPrettyString()).isPositive();
        return Await.until("run " + id + " to finish", Duration.ofMinutes(4), () -> http.get("/v1/runs/" + id).json(),
                r -> Set.of("success", "failed").contains(r.path("state").asText()));
    }

    static void awaitCommitted(WatershedHttp http, long rows) {
        Await.until(rows + " orders committed to the lake", Duration.ofSeconds(60), () -> {
            JsonNode r = http.sql("SELECT count(*) FROM committed.raw.orders").json();
            return r.has("rows") && r.path("rows").get(0).get(0).asLong() == rows;
        });
    }

    /** The partitions of a model table's current snapshot, as Iceberg records them. */
    static Set<String> partitions(Path data, String model) throws Exception {
        Set<String> partitions = new TreeSet<>();
        try (IcebergLake lake = new IcebergLake(data.resolve("lake"))) {
            Table table = lake.catalog().loadTable(TableIdentifier.of("models", model));
            try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
                for (FileScanTask task : tasks) {
                    partitions.add(table.spec().partitionToPath(task.file().partition()));
                }
            }
        }
        return partitions;
    }
}
