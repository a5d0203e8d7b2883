package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.watershed.bus.EmbeddedKafkaBroker;
import io.watershed.bus.KafkaEventBus;
import io.watershed.lake.IcebergLake;
import io.watershed.lake.TopicRetention;
import io.watershed.spi.BusConnection;
import io.watershed.spi.StreamSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.types.Types;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the real embedded broker and Iceberg catalog, without a lake writer: retention deletes old records
 * only up to the offsets the raw table has committed, counts the rest as overdue, and deletes them once
 * the lake holds them — by age and by size.
 */
class TopicRetentionIT {
    @TempDir
    Path dir;

    @Test
    void deletesOnlyWhatTheLakeCommittedAndCountsTheRestAsOverdue() throws Exception {
        try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(dir.resolve("kafka"), 0);
                IcebergLake lake = new IcebergLake(dir.resolve("lake"));
                Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("old", 1, (short) 1), new NewTopic("big", 1, (short) 1))).all().get();
            long tenDaysAgo = System.currentTimeMillis() - Duration.ofDays(10).toMillis();
            produce(broker, "old", 10, tenDaysAgo, 100);
            produce(broker, "big", 100, System.currentTimeMillis(), 1000);
            Table old = rawTable(lake, "old");
            Table big = rawTable(lake, "big");
            commitOffsets(lake, old, 4); // the lake holds offsets 0..3 of 'old'
            commitOffsets(lake, big, 100); // and all of 'big'

            StreamSpec oldStream = new StreamSpec("old", 1, Optional.empty(), Optional.empty(), StreamSpec.DEFAULT_LATENESS,
                    Optional.of(Duration.ofDays(7)), Map.of());
            StreamSpec bigStream = new StreamSpec("big", 1, Optional.empty(), Optional.empty(), StreamSpec.DEFAULT_LATENESS,
                    Optional.empty(), Map.of(), new StreamSpec.Lifecycle(Optional.of(20_000L), Optional.empty(), Optional.empty(),
                            Optional.empty()));
            // a pipeline has read 'big' up to offset 95
            admin.alterConsumerGroupOffsets("watershed-pipeline-slow", Map.of(new TopicPartition("big", 0),
                    new org.apache.kafka.clients.consumer.OffsetAndMetadata(95))).all().get();
            try (KafkaEventBus bus = new KafkaEventBus(BusConnection.plain(broker.bootstrapServers()), Duration.ofSeconds(30));
                    TopicRetention retention = new TopicRetention(bus, lake, () -> List.of(oldStream, bigStream),
                            () -> List.of("watershed-pipeline-slow", "watershed-pipeline-absent"), new SimpleMeterRegistry(),
                            Clock.systemUTC())) {
                retention.apply();
                assertThat(earliest(admin, "old")).as("all ten are past retention; only the four committed go").isEqualTo(4);
                assertThat(retention.overdue("old")).isEqualTo(6);
                long keptOfBig = 100 - earliest(admin, "big");
                assertThat(keptOfBig).as("about 20 KB of 1 KB records stay").isBetween(10L, 25L);
                assertThat(retention.overdue("big")).isZero();

                commitOffsets(lake, old, 10); // the lake caught up
                retention.apply();
                assertThat(earliest(admin, "old")).isEqualTo(10);
                assertThat(retention.overdue("old")).isZero();

                // a pipeline that has read only 'big' up to 50 holds the rest back, whatever the lake holds
                admin.alterConsumerGroupOffsets("watershed-pipeline-slow", Map.of(new TopicPartition("big", 0),
                        new org.apache.kafka.clients.consumer.OffsetAndMetadata(50))).all().get();
                long before = earliest(admin, "big");
                produce(broker, "big", 100, System.currentTimeMillis(), 1000);
                commitOffsets(lake, big, 200);
                retention.apply();
                assertThat(earliest(admin, "big")).as("nothing more deleted: the pipeline is behind").isEqualTo(before);
                assertThat(retention.overdue("big")).isPositive();
            }
            var config = admin.describeConfigs(List.of(new org.apache.kafka.common.config.ConfigResource(
                    org.apache.kafka.common.config.ConfigResource.Type.TOPIC, "big"))).all().get().values().iterator().next();
            assertThat(config.get("retention.ms").value()).isEqualTo("-1");
            assertThat(config.get("retention.bytes").value()).isEqualTo("-1");
        }
    }

    private static void produce(EmbeddedKafkaBroker broker, String topic, int n, long timestamp, int size) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers(), ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName(),
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName(),
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "none", ProducerConfig.LINGER_MS_CONFIG, 0))) {
            for (int i = 0; i < n; i++) {
                String pad = "x".repeat(size);
                producer.send(new ProducerRecord<>(topic, 0, timestamp + i, null,
                        ("{\"i\":" + i + ",\"pad\":\"" + pad + "\"}").getBytes(StandardCharsets.UTF_8))).get();
            }
        }
    }

    private static Table rawTable(IcebergLake lake, String name) {
        return lake.catalog().createTable(TableIdentifier.of(IcebergLake.RAW, name),
                new Schema(Types.NestedField.required(1, "_offset", Types.LongType.get())));
    }

    /** What the lake writer does at each commit: the offsets it covers go in the snapshot summary. */
    private static void commitOffsets(IcebergLake lake, Table table, long next) {
        table.newAppend().set("watershed.offsets", "0:" + next).commit();
    }

    private static long earliest(Admin admin, String topic) throws Exception {
        TopicPartition tp = new TopicPartition(topic, 0);
        return admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get().get(tp).offset();
    }
}
