package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.bus.EmbeddedKafkaBroker;
import io.watershed.bus.KafkaEventBus;
import io.watershed.spi.BusConnection;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the real embedded broker: the bus reports how far a consumer group (a pipeline's sources) has read — its committed
 * offsets and the records beyond them — and says UNAVAILABLE when the broker does not answer, which a pipeline's status
 * shows as no lag.
 */
class ConsumerGroupProgressIT {
    @TempDir
    Path dir;

    @Test
    void aGroupsCommittedOffsetsAndLagComeFromTheBus() throws Exception {
        EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(dir.resolve("kafka"), 0);
        boolean brokerStopped = false;
        try (KafkaEventBus bus = new KafkaEventBus(BusConnection.plain(broker.bootstrapServers()), Duration.ofSeconds(15))) {
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
                bus.ensureTopics(List.of(StreamSpec.inferred("orders", 1)));
                List<EventBus.Event> events = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    events.add(new EventBus.Event(null, ("{\"i\":" + i + "}").getBytes(StandardCharsets.UTF_8), System.currentTimeMillis()));
                }
                bus.publish("orders", events).get();
                admin.alterConsumerGroupOffsets("watershed-pipeline-slow", Map.of(new TopicPartition("orders", 0),
                        new OffsetAndMetadata(4))).all().get();

                assertThat(bus.consumerGroupProgress("watershed-pipeline-slow")).isEqualTo(new EventBus.GroupProgress(4, 6));
                assertThat(bus.consumerGroupProgress("watershed-pipeline-absent")).as("a group that committed nothing")
                        .isEqualTo(new EventBus.GroupProgress(0, 0));
            }
            // keyed publishing has started (its transactional producers wind down quickly once it has)
            assertThat(bus.publishedUnder("orders", "none")).isEmpty();
            broker.close();
            brokerStopped = true;
            assertThatThrownBy(() -> bus.consumerGroupProgress("watershed-pipeline-slow"))
                    .isInstanceOfSatisfying(WatershedException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE))
                    .hasMessageStartingWith("Cannot read the offsets of consumer group 'watershed-pipeline-slow'");
        } finally {
            if (!brokerStopped) {
                broker.close();
            }
        }
    }
}
