package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operations pipelines need, each checked for its exact result on input whose answer is known:
 * tumbling windows with events late and within the lateness, hopping and session windows,
 * deduplication, an interval join, an event-time temporal join, a Java function from the project's
 * {@code functions/} folder, and one pipeline reading the stream another writes. Every result is a
 * live view, so the test reads it through SQL as users do.
 */
class PipelineOperationsIT {
    private static final Instant T0 = Instant.parse("2026-11-21T10:00:00Z");

    @TempDir
    Path root;

    @Test
    void eachOperationGivesItsExactResult() throws Exception {
        TestProject project = TestProject.in(root.resolve("p"))
                // quiet sources stop holding back event time after a second, so the joins emit soon after the last input
                .yaml("pipelines:\n  idle_timeout: 1s")
                .stream("clicks", "partitions: 1\nevent_time: ts\nlateness: 1s\nfields:\n  user: string\n  page: string\n  ts: timestamp\n")
                .stream("telemetry", "partitions: 1\nevent_time: ts\nlateness: 1s\nfields:\n  driver: string\n  speed: int\n  ts: timestamp\n")
                // lateness covers the whole test: orders, payments and prices arrive in separate requests, and the
                // stream sent first must not push event time past what the others bring
                .stream("orders", "partitions: 1\nevent_time: ts\nlateness: 60s\nfields:\n  order_id: string\n  product: string\n"
                        + "  qty: int\n  ts: timestamp\n")
                .stream("payments", "partitions: 1\nevent_time: ts\nlateness: 60s\nfields:\n  order_id: string\n  amount: double\n"
                        + "  ts: timestamp\n")
                .stream("prices", "partitions: 1\nevent_time: ts\nlateness: 60s\nfields:\n  product: string\n  price: double\n"
                        + "  ts: timestamp\n")
                .stream("products", "partitions: 1\nfields:\n  id: string\n  name: string\n")
                .stream("purchases", "partitions: 1\nfields:\n  order_id: string\n  product: string\n")
                .pipeline("windows", """
                        CREATE LIVE VIEW clicks_10s AS
                        SELECT window_start, COUNT(*) AS clicks
                        FROM TABLE(TUMBLE(TABLE streams.clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
                        GROUP BY window_start, window_end;

                        CREATE LIVE VIEW clicks_hop AS
                        SELECT window_start, COUNT(*) AS clicks
                        FROM TABLE(HOP(TABLE streams.clicks, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
                        GROUP BY window_start, window_end;
                        """)
                .pipeline("trips", """
                        CREATE LIVE VIEW trips AS
                        SELECT driver, window_start, window_end, COUNT(*) AS points, MAX(speed) AS top_speed
                        FROM TABLE(SESSION(TABLE streams.telemetry PARTITION BY driver, DESCRIPTOR(ts), INTERVAL '10' SECOND))
                        GROUP BY driver, window_start, window_end;
                        """)
                .pipeline("orders", """
                        CREATE TEMPORARY VIEW latest_prices AS
                        SELECT product, price, ts FROM (
                          SELECT *, ROW_NUMBER() OVER (PARTITION BY product ORDER BY ts DESC) AS rn FROM streams.prices)
                        WHERE rn = 1;

                        CREATE LIVE VIEW current_prices AS SELECT product, price FROM latest_prices;

                        CREATE LIVE VIEW first_orders AS
                        SELECT order_id, product, qty FROM (
                          SELECT *, ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY ts ASC) AS rn FROM streams.orders)
                        WHERE rn = 1;

                        CREATE LIVE VIEW paid AS
                        SELECT o.order_id, p.amount
                        FROM streams.orders AS o JOIN streams.payments AS p
                          ON o.order_id = p.order_id AND p.ts BETWEEN o.ts AND o.ts + INTERVAL '10' SECOND;

                        CREATE LIVE VIEW order_values AS
                        SELECT o.order_id, o.qty * p.price AS `value`
                        FROM streams.orders AS o JOIN latest_prices FOR SYSTEM_TIME AS OF o.ts AS p ON o.product = p.product;
                        """)
                .pipeline("masked", """
                        CREATE TEMPORARY FUNCTION mask AS 'acme.Mask';
                        CREATE LIVE VIEW masked AS SELECT mask(`user`) AS who, COUNT(*) AS clicks FROM streams.clicks GROUP BY mask(`user`);
                        """)
                // a lake table, read as it grows (Iceberg's streaming source over raw.clicks' commits)
                .pipeline("lake", """
                        CREATE LIVE VIEW lake_pages AS SELECT page, COUNT(*) AS n
                        FROM raw.clicks /*+ OPTIONS('streaming' = 'true', 'monitor-interval' = '1s') */ GROUP BY page;
                        """)
                // a lookup join against a lake table (raw.products), reloaded every second
                .pipeline("lookup", """
                        CREATE TEMPORARY VIEW purchases_now AS SELECT *, PROCTIME() AS pt FROM streams.purchases;
                        CREATE LIVE VIEW purchase_names AS
                        SELECT o.order_id, p.name
                        FROM purchases_now AS o
                        JOIN raw.products /*+ OPTIONS('reload-interval' = '1s') */ FOR SYSTEM_TIME AS OF o.pt AS p ON o.product = p.id;
                        """)
                // a_ sorts before b_: the runner must still plan the writer first, as the reader needs its columns
                .pipeline("a_page_totals", """
                        CREATE LIVE VIEW page_totals AS SELECT page, COUNT(*) AS hits FROM streams.page_views GROUP BY page;
                        """)
                .pipeline("b_enrich", """
                        INSERT INTO streams.page_views SELECT `user`, UPPER(page) AS page, ts FROM streams.clicks WHERE page <> 'health';
                        """);
        Path projectDirectory = project.write();
        writeFunctionJar(projectDirectory.resolve("functions").resolve("acme.jar"));

        try (Platform platform = Platform.start(project.load(), root.resolve("d"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            http.awaitPipelinesRunning(8, Duration.ofSeconds(180));

            // windows: [10:00:00, 10:00:10) gets 4 clicks; 10:00:12 moves event time to 10:00:11, closing it
            send(http, "clicks", click("a", "home", 1), click("b", "home", 2), click("c", "cart", 3), click("a", "health", 4),
                    click("b", "cart", 12));
            Await.until("the first windows to close", Duration.ofSeconds(60),
                    () -> rows(http, "SELECT count(*) FROM live.clicks_10s").equals(List.of("1"))
                            && rows(http, "SELECT count(*) FROM live.clicks_hop").equals(List.of("2")));
            // 10:00:04 is past the watermark (10:00:11) and dropped; 10:00:11.5 is out of order but within the lateness
            send(http, "clicks", click("d", "home", 4), click("e", "cart", 11.5));
            send(http, "clicks", click("f", "home", 25));
            awaitRows(http, "tumbling windows", "SELECT strftime(window_start, '%H:%M:%S'), clicks FROM live.clicks_10s ORDER BY 1",
                    List.of("10:00:00 4", "10:00:10 2"));
            awaitRows(http, "hopping windows", "SELECT strftime(window_start, '%H:%M:%S'), clicks FROM live.clicks_hop ORDER BY 1",
                    List.of("09:59:55 4", "10:00:00 4", "10:00:05 2", "10:00:10 2"));

            // a Java function from functions/acme.jar
            awaitRows(http, "masked users", "SELECT who, clicks FROM live.masked ORDER BY 1",
                    List.of("a*** 2", "b*** 2", "c*** 1", "d*** 1", "e*** 1", "f*** 1"));

            // chaining: b_enrich writes streams.page_views (no file declares it), a_page_totals reads it; it lands in the lake too
            awaitRows(http, "page totals from the chained stream", "SELECT page, hits FROM live.page_totals ORDER BY 1",
                    List.of("CART 3", "HOME 4"));
            awaitRows(http, "the chained stream in the lake", "SELECT count(*), count(DISTINCT \"user\") FROM raw.page_views",
                    List.of("7 6"));

            // the lake keeps every click, the late one included
            awaitRows(http, "clicks read from the lake table", "SELECT page, n FROM live.lake_pages ORDER BY 1",
                    List.of("cart 3", "health 1", "home 4"));

            // session windows: a gap of 10 s ends a trip
            send(http, "telemetry", point("x", 40, 0), point("x", 55, 3), point("y", 30, 5), point("x", 50, 6), point("y", 35, 8),
                    point("x", 70, 30), point("x", 65, 32), point("z", 10, 60));
            awaitRows(http, "trips", "SELECT driver, strftime(window_start, '%M:%S'), strftime(window_end, '%M:%S'), points, "
                    + "top_speed FROM live.trips ORDER BY 1, 2", List.of("x 00:00 00:16 3 55", "x 00:30 00:42 2 70", "y 00:05 00:18 2 35"));

            // prices first, then payments, then orders; 10:03:20 moves event time on so the temporal join emits
            send(http, "prices", price("tea", 2.0, 0), price("coffee", 5.0, 0), price("tea", 3.0, 20));
            awaitRows(http, "current prices", "SELECT product, price FROM live.current_prices ORDER BY 1",
                    List.of("coffee 5.0", "tea 3.0"));
            send(http, "payments", payment("o1", 2.0, 15), payment("o2", 10.0, 30), payment("o3", 6.0, 26));
            send(http, "orders", order("o1", "tea", 1, 10), order("o2", "coffee", 2, 12), order("o3", "tea", 2, 25),
                    order("o1", "tea", 1, 14));
            // interval join: a payment within 10 s of its order (o2 paid 18 s after: no match; o1 twice, as ordered twice).
            // It emits on arrival; it is checked before o9 moves event time on, since a payments source found idle
            // before it read its records would otherwise see them arrive behind the orders' watermark, as late
            awaitRows(http, "paid orders", "SELECT order_id, amount FROM live.paid ORDER BY 1, 2", List.of("o1 2.0", "o1 2.0", "o3 6.0"));
            send(http, "orders", order("o9", "coffee", 1, 200));
            // and a price of another product at 10:05:00 moves the prices' event time past the orders too, so the
            // temporal join does not depend on when the prices stream is found idle
            send(http, "prices", price("zzz", 0.0, 300));
            // deduplication on event time keeps the first o1; o9 (10:03:20) waits until event time passes it
            awaitRows(http, "first orders", "SELECT order_id, product, qty FROM live.first_orders ORDER BY 1",
                    List.of("o1 tea 1", "o2 coffee 2", "o3 tea 2"));
            // temporal join: each order at the price valid at its event time (tea 2.0 until 10:00:20, then 3.0). o9 comes
            // only once Flink finds the orders stream idle, which it does not always do: it may be there, at 5.0
            awaitRows(http, "order values", "SELECT order_id, \"value\" FROM live.order_values WHERE order_id <> 'o9' ORDER BY 1, 2",
                    List.of("o1 2.0", "o1 2.0", "o2 10.0", "o3 6.0"));
            assertThat(rows(http, "SELECT count(*) FROM live.order_values WHERE order_id = 'o9' AND \"value\" <> 5.0"))
                    .containsExactly("0");

            // lookup join: the restart loads the committed products into the lookup cache before any purchase
            send(http, "products", "{\"id\":\"p1\",\"name\":\"apple\"}", "{\"id\":\"p2\",\"name\":\"pear\"}");
            Await.until("products committed", Duration.ofSeconds(60), () -> rows(http, "SELECT count(*) FROM committed.raw.products"),
                    List.of("2")::equals);
            assertThat(http.post("/v1/pipelines/lookup/restart", new byte[0]).status()).isEqualTo(200);
            send(http, "purchases", "{\"order_id\":\"o1\",\"product\":\"p1\"}", "{\"order_id\":\"o2\",\"product\":\"p2\"}",
                    "{\"order_id\":\"o3\",\"product\":\"p9\"}");
            awaitRows(http, "purchases with their product's name", "SELECT order_id, name FROM live.purchase_names ORDER BY 1",
                    List.of("o1 apple", "o2 pear"));
            // a product committed later is found once the cache reloads (every second): probe until a purchase of it joins
            send(http, "products", "{\"id\":\"p3\",\"name\":\"plum\"}");
            java.util.concurrent.atomic.AtomicInteger probes = new java.util.concurrent.atomic.AtomicInteger();
            Await.until("a purchase of the new product to join", Duration.ofSeconds(60), () -> {
                send(http, "purchases", "{\"order_id\":\"probe" + probes.incrementAndGet() + "\",\"product\":\"p3\"}");
                return rows(http, "SELECT DISTINCT name FROM live.purchase_names WHERE order_id LIKE 'probe%'");
            }, List.of("plum")::equals);
        }
    }

    private static void send(WatershedHttp http, String stream, String... events) {
        WatershedHttp.Response response = http.events(stream, String.join("\n", events));
        assertThat(response.status()).as(response.body()).isEqualTo(200);
    }

    private static String at(double seconds) {
        return T0.plusMillis((long) (seconds * 1000)).toString();
    }

    private static String click(String user, String page, double second) {
        return "{\"user\":\"" + user + "\",\"page\":\"" + page + "\",\"ts\":\"" + at(second) + "\"}";
    }

    private static String point(String driver, int speed, double second) {
        return "{\"driver\":\"" + driver + "\",\"speed\":" + speed + ",\"ts\":\"" + at(second) + "\"}";
    }

    private static String price(String product, double price, double second) {
        return "{\"product\":\"" + product + "\",\"price\":" + price + ",\"ts\":\"" + at(second) + "\"}";
    }

    private static String payment(String order, double amount, double second) {
        return "{\"order_id\":\"" + order + "\",\"amount\":" + amount + ",\"ts\":\"" + at(second) + "\"}";
    }

    private static String order(String order, String product, int qty, double second) {
        return "{\"order_id\":\"" + order + "\",\"product\":\"" + product + "\",\"qty\":" + qty + ",\"ts\":\"" + at(second) + "\"}";
    }

    private static void awaitRows(WatershedHttp http, String what, String sql, List<String> expected) {
        try {
            Await.until(what, Duration.ofSeconds(60), () -> rows(http, sql), expected::equals);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; pipelines: " + http.get("/v1/pipelines").body(), e);
        }
    }

    /**
     * A pipeline whose aggregate feeds a function too slow for its input: the aggregate's task is the bottleneck, so the
     * source task ahead of it waits for room in its output, and Flink's backpressure for the job (read from its REST
     * API, as its web UI does) reaches the high level in /v1/pipelines, /metrics and the alerts; a pipeline that keeps
     * up stays at ok.
     */
    @Test
    void aPipelineThatCannotKeepUpShowsHighBackpressureAndOneThatCanShowsOk() throws Exception {
        TestProject project = TestProject.in(root.resolve("p"))
                .stream("ticks", "partitions: 1\nfields:\n  k: string\n  v: int\n")
                .pipeline("slow", """
                        CREATE TEMPORARY FUNCTION crawl AS 'acme.Crawl';
                        CREATE LIVE VIEW slow_counts AS SELECT k, crawl(COUNT(*)) AS n FROM streams.ticks GROUP BY k;
                        """)
                .pipeline("quick", "CREATE LIVE VIEW quick_counts AS SELECT k, COUNT(*) AS n FROM streams.ticks GROUP BY k;\n");
        Path projectDirectory = project.write();
        writeFunctionJar(projectDirectory.resolve("functions").resolve("acme.jar"));
        try (Platform platform = Platform.start(project.load(), root.resolve("d"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            http.awaitPipelinesRunning(2, Duration.ofSeconds(120));
            // 20 ms per update, two updates per record: 40,000 records are half an hour of work for the slow pipeline
            for (int batch = 0; batch < 4; batch++) {
                StringBuilder body = new StringBuilder();
                for (int i = 0; i < 10_000; i++) {
                    body.append("{\"k\":\"k").append(i % 50).append("\",\"v\":").append(i).append("}\n");
                }
                send(http, "ticks", body.toString());
            }
            JsonNode slow = Await.until("high backpressure on the slow pipeline", Duration.ofSeconds(90),
                    () -> pipeline(http, "slow"), p -> p.path("backpressure_level").asText().equals("high"));
            assertThat(slow.path("backpressure").asDouble()).isGreaterThan(0.5).isLessThanOrEqualTo(1.0);
            // the quick one read all 40,000 at once (a sample then may still show that burst) and then stays at ok
            JsonNode quick = Await.until("the quick pipeline caught up, at ok", Duration.ofSeconds(60),
                    () -> pipeline(http, "quick"), p -> p.path("lag").asLong() == 0 && p.path("backpressure_level").asText().equals("ok"));
            assertThat(quick.path("backpressure").asDouble()).isLessThanOrEqualTo(0.1);
            assertThat(pipeline(http, "slow").path("backpressure_level").asText()).isEqualTo("high");
            assertThat(http.get("/metrics").body()).containsPattern("watershed_pipeline_backpressure_ratio\\{pipeline=\"slow\",?} 0\\.[5-9]|"
                    + "watershed_pipeline_backpressure_ratio\\{pipeline=\"slow\",?} 1\\.0");
            assertThat(http.get("/v1/alerts").json().path("alerts").toString()).contains("Pipeline 'slow' is backpressured")
                    .doesNotContain("Pipeline 'quick'");
        }
    }

    private static JsonNode pipeline(WatershedHttp http, String name) {
        for (JsonNode p : http.get("/v1/pipelines").json().path("pipelines")) {
            if (p.path("name").asText().equals(name)) {
                return p;
            }
        }
        throw new AssertionError("no pipeline " + name + " in /v1/pipelines");
    }

    private static List<String> rows(WatershedHttp http, String sql) {
        return http.rows(sql);
    }

    /**
     * Compiles scalar functions against Flink's API, as a user would, and packs them as the project's jar: Mask, and
     * Crawl, which takes 20 ms a call.
     */
    private static void writeFunctionJar(Path jar) throws IOException {
        Path sources = Files.createTempDirectory("udf-src");
        Path mask = sources.resolve("acme").resolve("Mask.java");
        Path crawl = sources.resolve("acme").resolve("Crawl.java");
        Files.createDirectories(mask.getParent());
        Files.writeString(mask, """
                package acme;

                public class Mask extends org.apache.flink.table.functions.ScalarFunction {
                    public String eval(String s) {
                        return s == null || s.isEmpty() ? s : s.charAt(0) + "***";
                    }
                }
                """);
        Files.writeString(crawl, """
                package acme;

                public class Crawl extends org.apache.flink.table.functions.ScalarFunction {
                    public long eval(long n) throws InterruptedException {
                        Thread.sleep(20);
                        return n;
                    }
                }
                """);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int status = javac.run(null, null, null, "--release", "17", "-cp", System.getProperty("java.class.path"),
                "-d", sources.toString(), mask.toString(), crawl.toString());
        assertThat(status).as("javac of the test functions").isZero();
        Files.createDirectories(jar.getParent());
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            for (String name : List.of("Mask", "Crawl")) {
                out.putNextEntry(new JarEntry("acme/" + name + ".class"));
                Files.copy(sources.resolve("acme").resolve(name + ".class"), (OutputStream) out);
                out.closeEntry();
            }
        }
    }
}
