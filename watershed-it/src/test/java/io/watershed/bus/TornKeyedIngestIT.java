package io.watershed.bus;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.EventBus;
import io.watershed.testing.KafkaNodes;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keyed ingest (HTTP with an {@code Idempotency-Key}; forward chunks and file-tail batches go the same way) against
 * transactions Kafka tears, on a real two-node cluster with no kill timing ({@code torn-transactions.md} §8.3). A
 * killed process's keyed publish is made by hand with the first ingest slot's transactional id: its events and its
 * key record, node 2 stopped, the commit (or abort), node 2 back. Then the key log starts as after a restart, and the
 * client retries with the same key. Each event must be in its topic exactly once, and the key known exactly when its
 * events are.
 */
class TornKeyedIngestIT {
    private static final int ON_PARTITION_0 = 10;
    private static final int ON_PARTITION_1 = 20;

    @TempDir
    static Path directory;
    private static KafkaNodes kafka;
    private IdempotencyLog log;

    @BeforeAll
    static void startCluster() {
        kafka = new KafkaNodes(directory);
        kafka.createTopic(KafkaTransactionalPublisher.DECISIONS, Map.of("cleanup.policy", "compact"), 1);
    }

    @AfterAll
    static void stopCluster() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @AfterEach
    void closeLog() {
        if (log != null) {
            log.close();
        }
        if (!kafka.node2Running()) {
            kafka.startNode2();
        }
        kafka.deleteTopic(IdempotencyLog.TOPIC);
    }

    /** The key committed, events open on node 2: the key says "written", so every event must be visible. */
    @Test
    void keyOnNode1EventsTornOnNode2() throws Exception {
        String topic = "orders_a";
        tear(topic, 1, new int[] {1, 2}, false);
        assertThat(retry(topic)).as("the key is known: Kafka committed it").contains(ON_PARTITION_0 + ON_PARTITION_1);
        assertExactlyOnce(topic);
    }

    /** The mirror: the key open on node 2, the events committed: the key must not be lost, or the retry writes twice. */
    @Test
    void keyTornOnNode2EventsOnNode1() throws Exception {
        String topic = "orders_b";
        tear(topic, 2, new int[] {1, 1}, false);
        assertThat(retry(topic)).as("the key is known: Kafka committed it").contains(ON_PARTITION_0 + ON_PARTITION_1);
        assertExactlyOnce(topic);
    }

    /** Kafka aborted the publish and tore the abort: nothing of it may become visible; the retry writes it once. */
    @Test
    void abortedAndTorn() throws Exception {
        String topic = "orders_c";
        tear(topic, 2, new int[] {1, 2}, true);
        assertThat(retry(topic)).as("the key is unknown: Kafka aborted it").isEmpty();
        assertExactlyOnce(topic);
    }

    /**
     * What the client does after a restart: asks whether the key was written, and publishes again if not.
     *
     * @return what the key log said before the retry
     */
    private Optional<Integer> retry(String topic) {
        log = new IdempotencyLog(io.watershed.spi.BusConnection.plain(kafka.bootstrapServers()), kafka.admin(), producerProperties(), "");
        Optional<Integer> earlier = log.publishedUnder(topic, "k1");
        if (earlier.isEmpty()) {
            log.publish(topic, events(), "k1");
        }
        assertThat(log.publishedUnder(topic, "k1")).contains(ON_PARTITION_0 + ON_PARTITION_1);
        return earlier;
    }

    private static Properties producerProperties() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        return p;
    }

    /** The killed process's keyed publish, decided by Kafka and left open where node 2 holds the partitions. */
    private static void tear(String topic, int keyNode, int[] eventNodes, boolean kafkaAborts) throws Exception {
        kafka.createTopic(IdempotencyLog.TOPIC, Map.of("cleanup.policy", "compact,delete"), keyNode);
        kafka.createTopic(topic, Map.of(), eventNodes);
        String id = IdempotencyLog.transactionalId(0);
        Properties p = producerProperties();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
        KafkaProducer<byte[], byte[]> first = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        first.initTransactions();
        first.beginTransaction();
        List<EventBus.Event> events = events();
        for (int i = 0; i < events.size(); i++) {
            first.send(new ProducerRecord<>(topic, i < ON_PARTITION_0 ? 0 : 1, null, events.get(i).value()));
        }
        first.send(new ProducerRecord<>(IdempotencyLog.TOPIC, 0, (topic + "/k1").getBytes(StandardCharsets.UTF_8),
                String.valueOf(events.size()).getBytes(StandardCharsets.UTF_8)));
        first.flush();
        List<TopicPartition> onNode2 = new ArrayList<>();
        for (int partition = 0; partition < eventNodes.length; partition++) {
            if (eventNodes[partition] == 2) {
                onNode2.add(new TopicPartition(topic, partition));
            }
        }
        if (keyNode == 2) {
            onNode2.add(new TopicPartition(IdempotencyLog.TOPIC, 0));
        }
        TopicPartition[] stopped = onNode2.toArray(TopicPartition[]::new);
        kafka.stopNode2(stopped);
        if (kafkaAborts) {
            first.abortTransaction();
        } else {
            first.commitTransaction();
        }
        first.close(Duration.ZERO);
        kafka.awaitTransactionState(id, kafkaAborts ? TransactionState.COMPLETE_ABORT : TransactionState.COMPLETE_COMMIT);
        kafka.startNode2(stopped);
        assertThat(openPartitions(topic)).as("torn: open where node 2 was").containsExactlyInAnyOrder(stopped);
    }

    private static List<EventBus.Event> events() {
        List<EventBus.Event> events = new ArrayList<>();
        for (int i = 0; i < ON_PARTITION_0 + ON_PARTITION_1; i++) {
            events.add(new EventBus.Event(null, ("{\"order\":" + i + "}").getBytes(StandardCharsets.UTF_8), 1_000L + i));
        }
        return events;
    }

    private static List<TopicPartition> openPartitions(String topic) {
        return kafka.openTransactions(List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1),
                new TopicPartition(IdempotencyLog.TOPIC, 0)));
    }

    private static void assertExactlyOnce(String topic) {
        assertThat(openPartitions(topic)).as("partitions left open").isEmpty();
        KafkaNodes.assertEachOnce(events().stream().map(e -> new String(e.value(), StandardCharsets.UTF_8)).toList(),
                kafka.committedValues(topic), "events");
    }
}
