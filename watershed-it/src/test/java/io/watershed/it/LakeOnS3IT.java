package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.S3Store;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster profile's object storage: the lake's warehouse on S3 (S3Proxy in this JVM, with its own keys from
 * {@code ${VAR}}s), beside a platform with the local warehouse fed the same events. Landing, dead letters, a model
 * build, compaction, snapshot expiry and orphan cleanup all work on the bucket; queries read through the local file
 * cache and answer as the local warehouse does; the secret key shows up nowhere.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LakeOnS3IT {
    static final String BUCKET = "lake-bucket";
    static final String[] PRODUCTS = {"anvil", "bolt", "cog", "drill"};
    static final int BATCHES = 3;
    static final int ORDERS_PER_BATCH = 200;
    static final int BAD_PER_BATCH = 5;

    @TempDir
    static Path root;

    static S3Store s3;
    static Platform onS3;
    static Platform local;
    static WatershedHttp http;
    static WatershedHttp localHttp;
    static LogCapture log;

    static TestProject project(Path directory) {
        return TestProject.in(directory)
                .stream("orders", "partitions: 2\nfields:\n  order_id: long\n  product: string\n  amount: double\n")
                .model("sales", "SELECT product, COUNT(*) AS orders, SUM(amount) AS revenue FROM raw.orders GROUP BY product\n")
                .lake("upkeep_interval", "0s") // upkeep on demand only: nothing is written while orphans are looked for
                .lake("snapshot_retention", "1s")
                .lake("orphan_delay", "1s");
    }

    @BeforeAll
    static void start() {
        log = LogCapture.attach();
        s3 = S3Store.start(BUCKET);
        TestProject onS3Project = project(root.resolve("s3-project"))
                .yaml("profiles:\n"
                        + "  cluster:\n"
                        + "    lake:\n"
                        + "      warehouse: s3://" + BUCKET + "/wh\n"
                        + "      s3_endpoint: " + s3.endpoint() + "\n"
                        + "      s3_path_style: true\n"
                        + "      s3_access_key_id: ${S3_ACCESS_KEY_ID}\n"
                        + "      s3_secret_access_key: ${S3_SECRET_ACCESS_KEY}\n"
                        + "      cache_size: 64MiB\n");
        onS3 = Platform.start(onS3Project.load("cluster", Map.of("S3_ACCESS_KEY_ID", s3.accessKey(), "S3_SECRET_ACCESS_KEY",
                s3.secretKey())), root.resolve("s3-data"));
        http = new WatershedHttp(onS3.url(), onS3.adminToken());
        local = Platform.start(project(root.resolve("local-project")).load(), root.resolve("local-data"));
        localHttp = new WatershedHttp(local.url(), local.adminToken());

        Random random = new Random(7);
        for (int batch = 0; batch < BATCHES; batch++) { // one commit each: several data files to compact
            StringBuilder body = new StringBuilder();
            for (int i = 0; i < ORDERS_PER_BATCH; i++) {
                body.append(String.format(Locale.ROOT, "{\"order_id\":%d,\"product\":\"%s\",\"amount\":%.2f}%n",
                        batch * ORDERS_PER_BATCH + i, PRODUCTS[random.nextInt(PRODUCTS.length)], 1 + random.nextInt(10_000) / 100.0));
            }
            for (int i = 0; i < BAD_PER_BATCH; i++) {
                body.append("{\"order_id\":").append(-1 - i).append(",\"product\":\"x\",\"amount\":\"many\"}\n");
            }
            for (WatershedHttp platform : List.of(http, localHttp)) {
                WatershedHttp.Response r = platform.events("orders", body.toString());
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                long rows = (long) (batch + 1) * ORDERS_PER_BATCH;
                long dead = (long) (batch + 1) * BAD_PER_BATCH;
                Await.until("batch " + batch + " committed", Duration.ofSeconds(60),
                        () -> platform.count("SELECT count(*) FROM committed.raw.orders") == rows
                                && platform.count("SELECT count(*) FROM committed.raw.orders__dlq") == dead);
            }
        }
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[] {onS3, local, s3}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    // closing the rest matters more
                }
            }
        }
        if (log != null) {
            log.detach();
        }
    }

    static final List<String> QUERIES = List.of(
            "SELECT count(*), sum(order_id) FROM committed.raw.orders",
            "SELECT product, count(*), round(sum(amount), 2) FROM raw.orders GROUP BY product ORDER BY product",
            "SELECT order_id, product, amount FROM raw.orders WHERE order_id % 97 = 0 ORDER BY order_id",
            "SELECT count(*) FROM raw.orders__dlq");

    static void assertSameAnswers(String when) {
        for (String sql : QUERIES) {
            assertThat(http.rows(sql)).as("%s: %s", when, sql).isEqualTo(localHttp.rows(sql)).isNotEmpty();
        }
    }

    @Test
    @Order(1)
    void eventsLandAsObjectsInTheBucketAndQueriesAnswerAsOnTheLocalWarehouse() throws IOException {
        assertThat(s3.keys("wh/raw/orders/data/")).as("data files").isNotEmpty().allMatch(k -> k.endsWith(".parquet"));
        assertThat(s3.keys("wh/raw/orders/metadata/")).as("metadata").anyMatch(k -> k.endsWith(".metadata.json"));
        assertThat(s3.keys("wh/raw/orders__dlq/data/")).as("dead letters").isNotEmpty();
        assertSameAnswers("after landing");

        Path data = root.resolve("s3-data");
        try (Stream<Path> files = Files.walk(data)) {
            assertThat(files.filter(f -> f.toString().endsWith(".parquet")))
                    .as("the local data directory holds Parquet files only in the cache")
                    .isNotEmpty()
                    .allMatch(f -> f.startsWith(data.resolve("lake").resolve("cache")));
        }
        assertThat(data.resolve("lake").resolve("warehouse")).doesNotExist();
    }

    @Test
    @Order(2)
    void aModelBuildWritesItsTableToTheBucket() {
        for (WatershedHttp platform : List.of(http, localHttp)) {
            JsonNode run = ModelsIT.awaitRun(platform, platform.post("/v1/runs", "{}".getBytes(StandardCharsets.UTF_8)).json());
            assertThat(run.path("state").asText()).as(run.toPrettyString()).isEqualTo("success");
        }
        assertThat(s3.keys("wh/models/sales/data/")).isNotEmpty();
        String sql = "SELECT product, orders, round(revenue, 2) FROM models.sales ORDER BY product";
        Await.until("the model's table is queryable", Duration.ofSeconds(30), () -> http.rows(sql).size() == PRODUCTS.length);
        assertThat(http.rows(sql)).isEqualTo(localHttp.rows(sql)).hasSize(PRODUCTS.length);
    }

    @Test
    @Order(3)
    void compactionExpiryAndOrphanCleanupWorkOnTheBucket() {
        List<String> before = s3.keys("wh/raw/orders/data/");
        assertThat(before).as("a file per commit at least").hasSizeGreaterThanOrEqualTo(BATCHES);
        List<String> manifestLists = s3.keys("wh/raw/orders/metadata/").stream().filter(k -> k.contains("/snap-")).toList();

        JsonNode compacted = http.post("/v1/tables/raw.orders/compact", new byte[0]).json();
        assertThat(compacted.path("files_after").asInt()).as(compacted.toPrettyString())
                .isLessThan(compacted.path("files_before").asInt());
        assertThat(s3.keys("wh/raw/orders/data/")).as("the compacted file is written to the bucket")
                .hasSize(before.size() + compacted.path("files_written").asInt());
        // placed after that count: the compaction above also cleans orphans older than orphan_delay (1s)
        String orphan = "wh/raw/orders/data/00000-0-left-by-a-crash.parquet";
        s3.put(orphan, "half a file".getBytes(StandardCharsets.UTF_8));
        s3.put("wh/raw/orders_other/data/not-this-tables.parquet", new byte[10]); // beside the table, not in it
        // once past snapshot_retention (1s) the replaced snapshots are expired and their manifest lists deleted; the
        // orphan goes once older than orphan_delay (1s). The lake writer's last snapshot keeps its offsets, and the files
        // it references.
        java.util.concurrent.atomic.AtomicInteger expired = new java.util.concurrent.atomic.AtomicInteger(
                compacted.path("snapshots_expired").asInt());
        Await.until("expired snapshots and the orphan deleted from the bucket", Duration.ofSeconds(30), () -> {
            List<String> keys = s3.keys("wh/raw/orders/");
            return expired.get() > 0 && !keys.contains(orphan) && !keys.containsAll(manifestLists) ? keys
                    : "expired " + expired.addAndGet(http.post("/v1/tables/raw.orders/compact", new byte[0]).json()
                            .path("snapshots_expired").asInt()) + ", keys " + keys;
        }, state -> state instanceof List<?>);
        assertThat(s3.keys("wh/raw/orders_other/data/")).as("another prefix is not the table's").hasSize(1);
        assertThat(s3.keys("wh/raw/orders/data/")).as("no file a snapshot references is deleted").containsAll(before);
        localHttp.post("/v1/tables/raw.orders/compact", new byte[0]);
        assertSameAnswers("after compaction and expiry");
    }

    @Test
    @Order(4)
    void theKeysAppearInNoAnswerErrorOrLogLine() {
        String secret = s3.secretKey();
        assertThat(http.get("/v1/health").body()).doesNotContain(secret);
        assertThat(http.get("/v1/tables").body()).contains("raw.orders").doesNotContain(secret);
        assertThat(http.get("/v1/tables/raw.orders").body()).doesNotContain(secret);
        WatershedHttp.Response failed = http.sql("SELECT * FROM raw.no_such_table");
        assertThat(failed.status()).as(failed.body()).isGreaterThanOrEqualTo(400);
        assertThat(failed.body()).doesNotContain(secret);
        assertThat(log.text()).as("the platform's log").isNotEmpty().doesNotContain(secret).doesNotContain(s3.accessKey());
    }

    /** Every log line of this JVM at the configured levels, with its stack trace. */
    static final class LogCapture extends AbstractAppender {
        private final StringBuffer text = new StringBuffer();

        private LogCapture() {
            super("lake-on-s3-capture", null, null, true, Property.EMPTY_ARRAY);
        }

        static LogCapture attach() {
            LogCapture capture = new LogCapture();
            capture.start();
            LoggerContext context = (LoggerContext) LogManager.getContext(false);
            context.getConfiguration().addAppender(capture);
            context.getConfiguration().getRootLogger().addAppender(capture, null, null);
            context.updateLoggers();
            return capture;
        }

        @Override
        public void append(LogEvent event) {
            text.append(event.getLoggerName()).append(' ').append(event.getMessage().getFormattedMessage()).append('\n');
            if (event.getThrown() != null) {
                java.io.StringWriter trace = new java.io.StringWriter();
                event.getThrown().printStackTrace(new java.io.PrintWriter(trace));
                text.append(trace);
            }
        }

        String text() {
            return text.toString();
        }

        void detach() {
            LoggerContext context = (LoggerContext) LogManager.getContext(false);
            context.getConfiguration().getRootLogger().removeAppender(getName());
            context.updateLoggers();
            stop();
        }
    }
}
