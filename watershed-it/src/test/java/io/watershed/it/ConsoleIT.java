package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The web console against a running platform: the API it reads (tables' insides, saved queries, dashboards, Grafana
 * export, alerts, run logs, stream rates) checked directly, then a real browser session — playwright-core driving
 * Debian's headless chromium (src/test/node/console.mjs) — that signs in, watches a stream's events/s rise, runs and
 * charts a query, saves it, opens lineage, a table's snapshots and live tail, a dashboard, and triggers a model run; and
 * searches a stream's logs, narrows by a top value and follows a hit to its row in the SQL page.
 * The session's screenshots land in target/screenshots (docs/screenshots holds the ones the README shows).
 */
class ConsoleIT {
    @TempDir
    static Path root;
    static Platform platform;
    static WatershedHttp admin;
    static Path projectDir;

    @BeforeAll
    static void start() throws Exception {
        projectDir = root.resolve("p");
        TestProject project = TestProject.in(projectDir)
                .commitInterval("500ms")
                .stream("clicks", "partitions: 2\nkey: user\nfields:\n  user: string\n  page: string\n  ts: timestamp\n  price: double\n")
                // the Logs page searches only a stream with a search index
                .stream("logs", "partitions: 2\nsearch:\n  text: [message]\n  keywords: [level, service]\n")
                .pipeline("page_counts", "CREATE LIVE VIEW page_counts AS SELECT page, COUNT(*) AS hits FROM streams.clicks GROUP BY page;\n")
                .model("top_pages", """
                        SELECT page, COUNT(*) AS `views`, COUNT(DISTINCT `user`) AS visitors
                        FROM raw.clicks
                        GROUP BY page
                        """)
                // an incremental model, one partition per day: what a backfill rebuilds
                .model("daily_clicks", """
                        -- materialized: incremental
                        -- partition_by: day
                        -- grain: day
                        SELECT CAST(ts AS DATE) AS `day`, COUNT(*) AS clicks
                        FROM raw.clicks
                        WHERE ts >= {{ start }} AND ts < {{ end }}
                        GROUP BY CAST(ts AS DATE)
                        """)
                // a model whose check always fails: its runs fail, and retry from failure runs it again
                .model("always_fails", "SELECT page, COUNT(*) AS hits FROM raw.clicks GROUP BY page")
                .file("checks/always_fails.yaml", "models.always_fails:\n  - row_count: {max: 0}\n")
                .file("queries/clicks_per_minute.sql", """
                        -- title: Clicks per minute
                        -- chart: line x=minute y=clicks
                        SELECT date_trunc('minute', ts) AS minute, count(*) AS clicks FROM raw.clicks GROUP BY 1 ORDER BY 1
                        """)
                .file("dashboards/shop.yaml", """
                        title: Shop
                        panels:
                          - query: clicks_per_minute
                            w: 8
                          - title: Live views by page
                            sql: SELECT page, hits FROM live.page_counts ORDER BY hits DESC
                            chart: {type: pie, x: page, y: [hits]}
                            w: 4
                          - title: Top pages
                            sql: SELECT page, views, visitors FROM models.top_pages ORDER BY views DESC
                            chart: bar x=page y=views,visitors
                            w: 12
                        """);
        platform = Platform.start(project.load(), root.resolve("d"));
        admin = new WatershedHttp(platform.url(), platform.adminToken());
        admin.awaitPipelinesRunning(1, Duration.ofSeconds(120));
        // a first batch with a price the double column cannot hold: a dead letter with its reason
        Instant now = Instant.now();
        assertThat(admin.events("clicks", "{\"user\":\"ada\",\"page\":\"/\",\"ts\":\"" + now + "\"}\n"
                + "{\"user\":\"bob\",\"page\":\"/checkout\",\"ts\":\"" + now + "\",\"price\":\"free\"}\n").status()).isEqualTo(200);
        // the model's table exists before the browser looks at lineage and the dashboard
        JsonNode run = admin.postJson("/v1/runs", Map.of("models", List.of("top_pages"))).json();
        Await.until("the first run of top_pages", Duration.ofSeconds(120),
                () -> admin.get("/v1/runs/" + run.path("id").asLong()).json().path("state").asText().equals("success"));
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    @Test
    void theConsoleIsServedWithoutATokenWithAStrictContentPolicyAndTheApiStillNeedsOne() throws Exception {
        HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
        HttpResponse<String> home = http.send(HttpRequest.newBuilder(URI.create(platform.url() + "/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(home.statusCode()).isEqualTo(302);
        assertThat(home.headers().firstValue("Location")).contains("/console/");
        HttpResponse<String> index = http.send(HttpRequest.newBuilder(URI.create(platform.url() + "/console/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(index.statusCode()).isEqualTo(200);
        assertThat(index.body()).contains("<div id=\"root\">");
        assertThat(index.headers().firstValue("Content-Security-Policy").orElse("")).contains("default-src 'self'")
                .doesNotContain("unsafe-eval");
        assertThat(index.headers().firstValue("X-Frame-Options")).contains("DENY");
        Matcher script = Pattern.compile("src=\"\\./(assets/[^\"]+\\.js)\"").matcher(index.body());
        assertThat(script.find()).as("index.html loads a bundled script: %s", index.body()).isTrue();
        HttpResponse<String> js = http.send(HttpRequest.newBuilder(URI.create(platform.url() + "/console/" + script.group(1))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(js.statusCode()).isEqualTo(200);
        assertThat(js.headers().firstValue("Content-Type").orElse("")).contains("javascript");
        // the console's files carry no data; every endpoint it calls still refuses a request without a token
        for (String path : List.of("/v1/streams", "/v1/tables/raw.clicks", "/v1/queries", "/v1/dashboards", "/v1/alerts",
                "/v1/dashboards/shop/grafana", "/v1/tables/raw.clicks/rows")) {
            assertThat(new WatershedHttp(platform.url(), null).get(path).status()).as(path).isEqualTo(401);
        }
    }

    @Test
    void aTableShowsItsSchemaHistorySnapshotsFilesAndRowsAsOfAnOlderSnapshot() {
        Await.until("the first rows in raw.clicks", Duration.ofSeconds(60), () -> admin.get("/v1/tables/raw.clicks").json()
                .path("rows").asLong() >= 1);
        JsonNode before = admin.get("/v1/tables/raw.clicks").json();
        // snapshot ids are 64-bit: the API sends them as text, which JavaScript cannot round
        assertThat(before.path("snapshots").get(0).path("snapshot_id").isTextual()).isTrue();
        long snapshotThen = before.path("snapshots").get(0).path("snapshot_id").asLong();
        long rowsThen = before.path("rows").asLong();
        // a new field evolves the schema: one more schema version, which names the added column
        assertThat(admin.events("clicks", "{\"user\":\"cy\",\"page\":\"/new\",\"ts\":\"" + Instant.now() + "\",\"campaign\":\"fall\"}")
                .status()).isEqualTo(200);
        JsonNode after = Await.until("the evolved schema", Duration.ofSeconds(60), () -> admin.get("/v1/tables/raw.clicks").json(),
                t -> t.path("columns").toString().contains("\"campaign\"") && t.path("rows").asLong() > rowsThen);
        JsonNode schemas = after.path("schemas");
        assertThat(schemas.size()).isGreaterThanOrEqualTo(2);
        assertThat(schemas.get(schemas.size() - 1).path("added").toString()).contains("campaign");
        assertThat(schemas.get(schemas.size() - 1).path("current").asBoolean()).isTrue();
        assertThat(after.path("partition_spec").toString()).contains("_ingested_at");
        assertThat(after.path("files").get(0).path("name").asText()).endsWith(".parquet").doesNotContain("/");
        assertThat(after.path("snapshots").get(0).path("current").asBoolean()).isTrue();

        // time travel: the rows as of the first snapshot are the rows it had, without the later column
        JsonNode then = admin.get("/v1/tables/raw.clicks/rows?snapshot=" + snapshotThen + "&limit=1000").json();
        assertThat(then.path("snapshot_id").asLong()).isEqualTo(snapshotThen);
        assertThat(then.path("rows").size()).isEqualTo((int) rowsThen);
        assertThat(then.path("columns").toString()).doesNotContain("campaign");
        JsonNode now = admin.get("/v1/tables/raw.clicks/rows?limit=1000").json();
        assertThat(now.path("rows").size()).isGreaterThan((int) rowsThen);
        assertThat(admin.get("/v1/tables/raw.clicks/rows?snapshot=42").status()).isEqualTo(400);
        assertThat(admin.get("/v1/tables/raw.nothing").json().path("error").path("code").asText()).isEqualTo("UNKNOWN_TABLE");
    }

    @Test
    void aColumnGrantLimitsWhatTheTablePagesShowAndNoGrantShowsNothing() {
        admin.postJson("/v1/access/users", Map.of("name", "analyst", "kind", "person"));
        admin.postJson("/v1/access/roles", Map.of("name", "page_reader"));
        admin.postJson("/v1/access/users/analyst/roles", Map.of("role", "page_reader"));
        assertThat(admin.postJson("/v1/access/grants", Map.of("role", "page_reader", "privilege", "read", "object", "table:raw.clicks",
                "columns", List.of("page"))).status()).isLessThan(300);
        WatershedHttp analyst = admin.as(admin.postJson("/v1/access/tokens", Map.of("user", "analyst")).json().path("token").asText());
        Await.until("rows in raw.clicks", Duration.ofSeconds(60), () -> admin.get("/v1/tables/raw.clicks").json().path("rows").asLong() >= 1);
        JsonNode table = analyst.get("/v1/tables/raw.clicks").json();
        assertThat(table.path("columns").findValuesAsText("name")).containsExactly("page");
        assertThat(table.path("schemas").toString()).doesNotContain("\"user\"");
        assertThat(analyst.get("/v1/tables/raw.clicks/rows").json().path("columns").toString()).isEqualTo("[\"page\"]");
        JsonNode listed = analyst.get("/v1/tables").json().path("tables");
        List<String> names = new java.util.ArrayList<>();
        listed.forEach(t -> names.add(t.path("name").asText()));
        assertThat(names).containsExactly("raw.clicks");
        assertThat(listed.get(0).path("columns").findValuesAsText("name")).containsExactly("page");
        assertThat(analyst.get("/v1/tables/raw.clicks__dlq").status()).isEqualTo(403);
        assertThat(analyst.get("/v1/tables/raw.watershed_audit/rows").status()).isEqualTo(403);
        // saving a query changes the project's files: it needs change on query:<name>
        assertThat(analyst.putJson("/v1/queries/mine", Map.of("sql", "SELECT 1")).status()).isEqualTo(403);
    }

    @Test
    void savedQueriesAreFilesInTheProjectAndDashboardsReadThemWithTheirMistakesReportedByLine() throws Exception {
        JsonNode saved = admin.putJson("/v1/queries/top_users", Map.of("title", "Top users", "sql",
                "SELECT \"user\", count(*) AS clicks FROM raw.clicks GROUP BY 1 ORDER BY 2 DESC",
                "chart", Map.of("type", "bar", "x", "user", "y", List.of("clicks")))).json();
        assertThat(saved.path("file").asText()).isEqualTo("queries/top_users.sql");
        assertThat(Files.readString(projectDir.resolve("queries/top_users.sql"))).startsWith("-- title: Top users\n-- chart: bar x=user y=clicks\n")
                .contains("GROUP BY 1");
        JsonNode listed = admin.get("/v1/queries").json().path("queries");
        assertThat(listed.findValuesAsText("name")).contains("clicks_per_minute", "top_users");
        assertThat(admin.putJson("/v1/queries/Bad-Name", Map.of("sql", "SELECT 1")).status()).isEqualTo(400);
        assertThat(admin.putJson("/v1/queries/chartless", Map.of("sql", "SELECT 1", "chart", Map.of("type", "radar"))).json()
                .path("error").path("message").asText()).contains("radar");
        assertThat(admin.delete("/v1/queries/top_users").status()).isEqualTo(200);
        assertThat(projectDir.resolve("queries/top_users.sql")).doesNotExist();
        assertThat(admin.delete("/v1/queries/top_users").status()).isEqualTo(404);

        JsonNode dashboard = admin.get("/v1/dashboards/shop").json();
        assertThat(dashboard.path("refresh_seconds").asInt()).as("a panel reads a live view").isEqualTo(5);
        assertThat(dashboard.path("panels").size()).isEqualTo(3);
        JsonNode first = dashboard.path("panels").get(0);
        assertThat(first.path("title").asText()).isEqualTo("Clicks per minute"); // the saved query's title and chart
        assertThat(first.path("chart").path("type").asText()).isEqualTo("line");
        assertThat(first.path("sql").asText()).contains("date_trunc");
        assertThat(dashboard.path("panels").get(2).path("chart").path("y").toString()).isEqualTo("[\"views\",\"visitors\"]");
        assertThat(admin.get("/v1/dashboards/nothing").status()).isEqualTo(404);

        // a mistake in a dashboard file is reported with its line, and the others still list
        Files.writeString(projectDir.resolve("dashboards/broken.yaml"), "title: Broken\npanels:\n  - query: no_such_query\n");
        try {
            JsonNode error = admin.get("/v1/dashboards/broken").json().path("error");
            assertThat(error.path("message").asText()).contains("dashboards/broken.yaml:3:").contains("no saved query 'no_such_query'");
            assertThat(admin.get("/v1/dashboards/shop").status()).isEqualTo(200);
        } finally {
            Files.delete(projectDir.resolve("dashboards/broken.yaml"));
        }
        JsonNode lineage = admin.get("/v1/lineage?of=dashboard:shop").json();
        assertThat(lineage.path("nodes").findValuesAsText("id")).contains("dashboard:shop", "table:models.top_pages", "live:page_counts",
                "table:raw.clicks");
    }

    @Test
    void theGrafanaExportQueriesMetricsTheServerReallyExports() {
        Await.until("clicks accepted", Duration.ofSeconds(30), () -> admin.get("/metrics").body().contains("watershed_ingest_events_accepted_total"));
        JsonNode grafana = admin.get("/v1/dashboards/shop/grafana").json();
        assertThat(grafana.path("uid").asText()).isEqualTo("watershed-shop");
        assertThat(grafana.path("__inputs").get(0).path("pluginId").asText()).isEqualTo("prometheus");
        String scrape = admin.get("/metrics").body();
        Set<String> metrics = new HashSet<>();
        Pattern name = Pattern.compile("(watershed_[a-z_]+)\\{");
        for (JsonNode panel : grafana.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                Matcher m = name.matcher(target.path("expr").asText());
                while (m.find()) {
                    metrics.add(m.group(1));
                }
            }
        }
        // streams (raw.clicks), the live view's pipelines and the model the panels read
        assertThat(metrics).contains("watershed_ingest_events_accepted_total", "watershed_lake_lag_offsets", "watershed_pipeline_running",
                "watershed_model_builds_total");
        for (String metric : metrics) {
            assertThat(scrape).as("the export's metric %s is in /metrics", metric).contains(metric + "{");
        }
        assertThat(grafana.path("panels").toString()).contains("date_trunc"); // the SQL panels, listed for the console
    }

    @Test
    void aStreamWithASearchIndexTellsTheFieldsTheLogsPageOffersAsGrantsAllow() {
        JsonNode streams = admin.get("/v1/streams").json().path("streams");
        JsonNode logs = null;
        for (JsonNode s : streams) {
            if (s.path("name").asText().equals("logs")) {
                logs = s.path("search");
            } else {
                assertThat(s.path("search").isNull()).as("%s has no index", s.path("name")).isTrue();
            }
        }
        assertThat(logs).isNotNull();
        assertThat(logs.path("text").toString()).isEqualTo("[\"message\"]");
        assertThat(logs.path("keywords").toString()).isEqualTo("[\"level\",\"service\"]");
        // a grant of some columns offers only those fields; no grant, none
        String levels = Tokens.issue(admin, "level_reader", Map.of());
        admin.postJson("/v1/access/grants", Map.of("role", "level_reader", "privilege", "read", "object", "table:raw.logs",
                "columns", List.of("level")));
        WatershedHttp reader = admin.as(levels);
        JsonNode seen = reader.get("/v1/streams").json().path("streams");
        assertThat(seen.findValues("search").stream().filter(JsonNode::isObject).toList()).singleElement().satisfies(search -> {
            assertThat(search.path("text").size()).isZero();
            assertThat(search.path("keywords").toString()).isEqualTo("[\"level\"]");
        });
        JsonNode none = admin.as(Tokens.issue(admin, "no_reader", Map.of())).get("/v1/streams").json().path("streams");
        assertThat(none.findValues("search").stream().filter(JsonNode::isObject).toList()).singleElement()
                .satisfies(search -> assertThat(search.path("keywords").size() + search.path("text").size()).isZero());
    }

    @Test
    void alertsStreamRatesAndRunLogsAreThere() {
        JsonNode alerts = Await.until("a dead-letter alert", Duration.ofSeconds(60), () -> admin.get("/v1/alerts").json().path("alerts"),
                a -> a.toString().contains("raw.clicks__dlq"));
        assertThat(alerts.toString()).contains("\"severity\":\"warning\"").contains("SELECT reason, raw FROM raw.clicks__dlq");
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 500; i++) {
            body.append("{\"user\":\"r").append(i).append("\",\"page\":\"/rate\",\"ts\":\"").append(Instant.now()).append("\"}\n");
        }
        assertThat(admin.events("clicks", body.toString()).status()).isEqualTo(200);
        JsonNode stream = Await.until("a rate for clicks", Duration.ofSeconds(30), () -> admin.get("/v1/streams").json().path("streams").get(0),
                s -> s.path("events_per_second").asDouble() > 0);
        assertThat(stream.path("name").asText()).isEqualTo("clicks");
        assertThat(stream.path("rate_history").size()).isGreaterThan(0);
        assertThat(stream.path("dead_letters").asLong()).isGreaterThanOrEqualTo(1);
        JsonNode runs = admin.get("/v1/runs?limit=50").json().path("runs");
        long first = runs.get(runs.size() - 1).path("id").asLong();
        JsonNode log = admin.get("/v1/runs/" + first + "/log").json().path("lines");
        assertThat(log.toString()).contains("created").contains("Model 'top_pages'").contains("success");
        assertThat(admin.get("/v1/runs/99999/log").status()).isEqualTo(404);
    }

    @Test
    void aBrowserSessionSignsInWatchesEventsRiseChartsAQueryOpensLineageAndTriggersARun() throws Exception {
        Path screenshots = Path.of("target/screenshots").toAbsolutePath();
        Path output = root.resolve("browser.log");
        ProcessBuilder node = new ProcessBuilder("node", "console.mjs").directory(ForwardSourceIT.NODE_CLIENT.toFile())
                .redirectErrorStream(true).redirectOutput(output.toFile());
        node.environment().put("WATERSHED_URL", platform.url());
        node.environment().put("WATERSHED_TOKEN", platform.adminToken());
        node.environment().put("SCREENSHOTS", screenshots.toString());
        Process browser = node.start();
        boolean ended = browser.waitFor(8, TimeUnit.MINUTES);
        if (!ended) {
            browser.destroyForcibly();
        }
        String said = Files.readString(output, StandardCharsets.UTF_8);
        System.out.println(said);
        assertThat(ended).as("the browser session ended; it said:\n%s", said).isTrue();
        assertThat(browser.exitValue()).as("the browser session passed; it said:\n%s", said).isZero();
        assertThat(said).contains("passed 13 steps");
        for (String page : List.of("login", "logs", "overview", "sql", "lineage", "table-snapshots", "table-tail", "dashboard", "runs")) {
            assertThat(Files.size(screenshots.resolve(page + ".png"))).as(page).isGreaterThan(10_000);
        }
        // what the browser did is real: the saved query is a file in the project, the run is in the history
        assertThat(Files.readString(projectDir.resolve("queries/views_by_page.sql"))).contains("count(*) AS views");
        assertThat(admin.get("/v1/runs?model=top_pages").json().path("runs").size()).isGreaterThanOrEqualTo(2);
        JsonNode backfilled = admin.get("/v1/runs?model=daily_clicks").json().path("runs");
        List<String> days = new java.util.ArrayList<>();
        backfilled.forEach(r -> days.add(r.path("steps").get(0).path("start").asText()));
        Matcher range = Pattern.compile("backfilled (\\S+) to (\\S+)").matcher(said);
        assertThat(range.find()).as(said).isTrue();
        assertThat(days).as("%s", backfilled).containsExactlyInAnyOrder(range.group(1) + "T00:00", range.group(2) + "T00:00");
        long retried = admin.get("/v1/runs?model=always_fails").json().path("runs").get(0).path("id").asLong();
        List<String> log = admin.get("/v1/runs/" + retried + "/log").json().path("lines").findValuesAsText("message");
        assertThat(log.stream().filter(("Run " + retried + " failed")::equals).count() + log.stream()
                .filter(m -> m.startsWith("Run " + retried + " failed:")).count()).as("%s", log).isEqualTo(2);
        assertThat(log).contains("Run " + retried + " queued");
    }
}
