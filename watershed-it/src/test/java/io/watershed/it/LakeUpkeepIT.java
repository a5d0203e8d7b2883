package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upkeep on the running platform: the lake writer commits every second while compaction and snapshot
 * expiry run every second; nothing acknowledged is lost or doubled, no query fails for a file that went
 * away, and retention drops exactly the old partitions and the topic records the lake already holds.
 */
class LakeUpkeepIT {
    @TempDir
    static Path root;

    static Platform platform;
    static WatershedHttp http;

    @BeforeAll
    static void start() {
        var project = TestProject.in(root.resolve("project"))
                .ingest("auto_create_streams", "false").yaml("query:\n  max_rows: 100000")
                .commitInterval("1s")
                .lake("upkeep_interval", "1s")
                .lake("compaction_min_files", "4")
                .lake("snapshot_retention", "2s")
                .stream("orders", "partitions: 2\nkey: id\nfields:\n  id: long\n  amount: long\n")
                .stream("archive", "partitions: 1\nlake_retention: 3d\nretention: 7d\nfields:\n  day: long\n")
                .load();
        platform = Platform.start(project, root.resolve("data"));
        http = new WatershedHttp(platform.url(), platform.adminToken());
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    @Test
    void compactionAndExpiryUnderContinuousIngestLoseNothingDoubleNothingAndFailNoQuery() throws Exception {
        AtomicBoolean sending = new AtomicBoolean(true);
        Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
        AtomicLong nextId = new AtomicLong();
        AtomicReference<String> failedQuery = new AtomicReference<>();
        AtomicInteger queries = new AtomicInteger();
        Thread sender = new Thread(() -> {
            while (sending.get()) {
                StringBuilder body = new StringBuilder();
                List<Long> ids = new ArrayList<>();
                for (int i = 0; i < 50; i++) {
                    long id = nextId.getAndIncrement();
                    ids.add(id);
                    body.append("{\"id\":").append(id).append(",\"amount\":").append(id % 97).append("}\n");
                }
                if (http.events("orders", body.toString()).status() == 200) {
                    acknowledged.addAll(ids);
                }
            }
        }, "sender");
        Thread reader = new Thread(() -> {
            while (sending.get()) {
                // every query reads some snapshot's files while compaction replaces them and expiry deletes the old ones
                WatershedHttp.Response r = http.sql("SELECT count(*) AS n, sum(amount) AS s FROM committed.raw.orders");
                queries.incrementAndGet();
                if (r.status() != 200) {
                    failedQuery.compareAndSet(null, r.status() + " " + r.body());
                }
            }
        }, "reader");
        sender.start();
        Await.until("raw.orders created by its first commit", Duration.ofSeconds(60),
                () -> http.sql("SELECT count(*) FROM committed.raw.orders").status() == 200);
        reader.start();
        Await.until("three compactions while ingest goes on", Duration.ofSeconds(120), () -> metric("watershed_lake_compactions_total") >= 3
                && metric("watershed_lake_snapshots_expired_total") >= 10);
        sending.set(false);
        sender.join();
        reader.join();

        assertThat(failedQuery.get()).as("no query failed while files were rewritten and expired (%d queries)", queries.get()).isNull();
        assertThat(acknowledged).hasSizeGreaterThan(500);
        Await.until("every acknowledged event committed", Duration.ofSeconds(60),
                () -> http.query("SELECT count(DISTINCT id) AS n FROM committed.raw.orders").path("rows").get(0).get(0).asLong()
                        >= acknowledged.size());
        JsonNode doubled = http.query("SELECT id, count(*) FROM committed.raw.orders GROUP BY id HAVING count(*) > 1 LIMIT 5");
        assertThat(doubled.path("rows")).as("no id landed twice").isEmpty();
        JsonNode ids = http.query("SELECT id FROM committed.raw.orders ORDER BY id");
        Set<Long> stored = new java.util.HashSet<>();
        ids.path("rows").forEach(row -> stored.add(row.get(0).asLong()));
        assertThat(stored).as("every acknowledged id is in the lake").containsAll(acknowledged);

        String query = "SELECT amount, count(*) AS n, sum(id) AS s FROM committed.raw.orders GROUP BY amount ORDER BY amount";
        String before = http.query(query).path("rows").toString();
        JsonNode table = table("raw.orders");
        JsonNode result = http.post("/v1/tables/raw.orders/compact", new byte[0]).json();
        JsonNode after = table("raw.orders");
        assertThat(http.query(query).path("rows").toString()).as("the same answer before and after compaction").isEqualTo(before);
        assertThat(result.path("files_after").asInt()).isLessThanOrEqualTo(result.path("files_before").asInt());
        // one file per day partition (two if the test ran across midnight UTC)
        assertThat(after.path("files").asInt()).as("files after compaction; before: %s", table).isBetween(1, 2);
        assertThat(after.path("rows").asLong()).isEqualTo(table.path("rows").asLong());
        assertThat(after.path("last_compaction").isNull()).isFalse();
        assertThat(metric("watershed_table_files{table=\"raw.orders\"}")).isBetween(1.0, 2.0);
    }

    @Test
    void retentionDropsExactlyTheOldPartitionsAndTrimsOnlyCommittedTopicRecords() throws Exception {
        // an external producer sets the record time, which the lake writer lands as _ingested_at
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, platform.bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        int[] daysAgo = {10, 5, 2, 0};
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (int ago : daysAgo) {
                long at = today.minusDays(ago).atTime(12, 0).toInstant(ZoneOffset.UTC).toEpochMilli();
                if (ago == 0) {
                    at = Math.min(at, System.currentTimeMillis());
                }
                for (int i = 0; i < 3; i++) {
                    producer.send(new ProducerRecord<>("archive", 0, at, null, ("{\"day\":" + -ago + "}").getBytes(StandardCharsets.UTF_8)))
                            .get();
                }
            }
        }
        Await.until("the old partitions dropped by retention", Duration.ofSeconds(90), () -> {
            JsonNode rows = http.query("SELECT day, count(*) FROM committed.raw.archive GROUP BY day ORDER BY day").path("rows");
            return rows.toString().equals("[[-2,3],[0,3]]");
        });
        assertThat(metric("watershed_lake_retention_files_dropped_total")).isGreaterThanOrEqualTo(2);

        // the topic keeps 7 days: the records 10 days old go, once the lake holds them; the rest stay
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, platform.bootstrapServers()))) {
            TopicPartition tp = new TopicPartition("archive", 0);
            Await.until("the topic trimmed to its retention", Duration.ofSeconds(60), () -> earliest(admin, tp) == 3);
            var config = admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, "archive"))).all().get()
                    .values().iterator().next();
            assertThat(config.get("retention.ms").value()).as("Kafka itself never deletes what the lake may not hold").isEqualTo("-1");
        }
        assertThat(metric("watershed_stream_retention_overdue_records{stream=\"archive\"}")).isZero();
        JsonNode archive = table("raw.archive");
        assertThat(archive.path("retention").asText()).isEqualTo("3d");
        assertThat(archive.path("rows").asLong()).isEqualTo(6);
    }

    private static long earliest(Admin admin, TopicPartition tp) {
        try {
            return admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get().get(tp).offset();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode table(String name) {
        for (JsonNode t : http.get("/v1/tables").json().path("tables")) {
            if (t.path("name").asText().equals(name)) {
                return t;
            }
        }
        throw new AssertionError(name + " is not in /v1/tables: " + http.get("/v1/tables").body());
    }

    private static double metric(String name) {
        Map<String, Double> values = new TreeMap<>();
        for (String line : http.get("/metrics").body().split("\n")) {
            if (!line.startsWith("#") && line.contains(" ")) {
                int space = line.lastIndexOf(' ');
                values.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
            }
        }
        return values.getOrDefault(name, 0.0);
    }
}
