package io.watershed.bus;

import io.watershed.spi.EventBus;
import io.watershed.spi.EventBus.Event;
import io.watershed.spi.WatershedException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import io.watershed.spi.TransactionalPublisher;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Idempotency keys kept in Kafka itself. A request with a key is published in a transaction
 * together with a record {@code stream/key → count} on the compacted topic {@value #TOPIC}; at start
 * the topic is read back, so a retry after a crash or restart is recognised. Transactions are what
 * make this exact, and {@link KafkaTransactionalPublisher} keeps them whole: a publish returns only once
 * the transaction is committed on every partition it wrote (the key's and each event's), and at start
 * whatever a killed process left open is ended the way Kafka decided it, before the keys are read. So a key
 * is known exactly when all its events are visible, and a retry writes them once.
 */
final class IdempotencyLog implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(IdempotencyLog.class);
    static final String TOPIC = "_watershed_idempotency";
    static final Duration RETENTION = Duration.ofHours(24);
    private static final int PRODUCERS = 2;

    private final io.watershed.spi.BusConnection connection;
    private final Map<String, Acknowledged> keys = new ConcurrentHashMap<>();
    /** Free slots; slot i owns transactional id {@code watershed-ingest-i} and its publisher. */
    private final BlockingQueue<Integer> freeSlots = new ArrayBlockingQueue<>(PRODUCERS);
    private final TransactionalPublisher[] publishers = new TransactionalPublisher[PRODUCERS];
    /** Slots whose last transaction ended with an outcome not yet known: keys are read again once they recover. */
    private final Set<Integer> unsettled = ConcurrentHashMap.newKeySet();
    /** Whether the keys must be read again before a key is answered (a read failed, or a slot recovered since). */
    private volatile boolean keysStale;

    /** A key, the number of events written under it, when, and the offset of its record on {@value #TOPIC}. */
    private record Acknowledged(int count, long atMillis, long offset) {}

    private final Admin admin;

    IdempotencyLog(io.watershed.spi.BusConnection connection, Admin admin, Properties baseProducerProperties, String instance) {
        this.connection = connection;
        this.admin = admin;
        createTopic(connection, admin);
        Map<String, String> config = new java.util.HashMap<>();
        baseProducerProperties.forEach((k, v) -> config.put(String.valueOf(k), String.valueOf(v)));
        connection.clientProperties().keySet().forEach(config::remove); // the connection comes with the publisher's bus
        // a transaction a dead process left open holds back every read-committed reader until it is
        // aborted: keep that bound short (a request's transaction takes well under a second)
        config.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "20000");
        // end whatever a killed process left open, the way Kafka decided it, before the keys are read; a slot that
        // cannot be settled yet keeps keyed requests answering 503 (with the reason) until it can
        try {
            for (int i = 0; i < PRODUCERS; i++) {
                publishers[i] = new KafkaTransactionalPublisher(connection, config, transactionalId(instance, i), Set.of());
                try {
                    publishers[i].recover();
                } catch (WatershedException e) {
                    LOG.warn("Keyed ingest waits for its transactions: {}", e.getMessage());
                    unsettled.add(i);
                }
                freeSlots.add(i);
            }
            keysStale = true;
            if (unsettled.isEmpty()) {
                try {
                    load();
                    keysStale = false;
                } catch (WatershedException e) {
                    LOG.warn("Keyed ingest waits for its keys: {}", e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    static String transactionalId(int slot) {
        return transactionalId("", slot);
    }

    /** Slot {@code slot}'s id: {@code watershed-ingest-<slot>}, or {@code watershed-ingest-<instance>-<slot>} beside others. */
    static String transactionalId(String instance, int slot) {
        return "watershed-ingest-" + (instance.isEmpty() ? "" : instance + "-") + slot;
    }

    private static void createTopic(io.watershed.spi.BusConnection connection, Admin admin) {
        NewTopic topic = BusClients.topic(connection, TOPIC, 1, Map.of(
                "cleanup.policy", "compact,delete", "retention.ms", String.valueOf(RETENTION.toMillis())));
        try {
            admin.createTopics(List.of(topic)).all().get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("Cannot create " + TOPIC + ": " + e.getCause().getMessage(), e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads every key committed so far. Keys past a transaction still open on the topic (another slot's, which
     * commits in a moment) are committed too: reading waits until the last stable offset passes the end as it was.
     */
    private void load() {
        TopicPartition partition = new TopicPartition(TOPIC, 0);
        long end;
        try {
            end = admin.listOffsets(Map.of(partition, OffsetSpec.latest()), new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED))
                    .partitionResult(partition).get().offset();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (true) {
                long stable = admin.listOffsets(Map.of(partition, OffsetSpec.latest()), new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                        .partitionResult(partition).get().offset();
                if (stable >= end) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw WatershedException.unavailable("Cannot read the Idempotency-Keys: a transaction on " + TOPIC + " is open "
                            + "since over 30 s (last stable offset " + stable + ", end " + end + ")", Duration.ofSeconds(5), null);
                }
                Thread.sleep(10);
            }
        } catch (ExecutionException e) {
            throw WatershedException.unavailable("Cannot read the offsets of " + TOPIC + ": " + e.getCause().getMessage(),
                    Duration.ofSeconds(5), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WatershedException.unavailable("Cannot read the Idempotency-Keys: interrupted", Duration.ofSeconds(1), e);
        }
        Properties p = connection.properties();
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long oldest = System.currentTimeMillis() - RETENTION.toMillis();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (consumer.position(partition) < end) {
                if (System.nanoTime() > deadline) {
                    throw WatershedException.unavailable("Cannot read the Idempotency-Keys on " + TOPIC + " to offset " + end
                            + " within 60 s", Duration.ofSeconds(5), null);
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (record.key() != null && record.value() != null && record.timestamp() >= oldest) {
                        keys.put(new String(record.key(), StandardCharsets.UTF_8),
                                new Acknowledged(Integer.parseInt(new String(record.value(), StandardCharsets.UTF_8)), record.timestamp(),
                                        record.offset()));
                    }
                }
            }
        } catch (org.apache.kafka.common.KafkaException e) {
            throw WatershedException.unavailable("Cannot read the Idempotency-Keys on " + TOPIC + ": " + e.getMessage(),
                    Duration.ofSeconds(5), e);
        }
    }

    Optional<Integer> publishedUnder(String topic, String key) {
        settle();
        Acknowledged ack = keys.get(topic + '/' + key);
        if (ack == null || ack.atMillis() < System.currentTimeMillis() - RETENTION.toMillis()) {
            return Optional.empty();
        }
        return Optional.of(ack.count());
    }

    void publish(String topic, List<Event> events, String key) {
        String record = topic + '/' + key;
        List<TransactionalPublisher.Record> records = new ArrayList<>(events.size() + 1);
        for (Event event : events) {
            Map<String, byte[]> headers = event.deadLetterReason() == null ? Map.of()
                    : Map.of(EventBus.DEAD_LETTER_HEADER, event.deadLetterReason().getBytes(StandardCharsets.UTF_8));
            records.add(new TransactionalPublisher.Record(topic, null, event.key(), event.value(), event.acceptedAtMillis(), headers));
        }
        records.add(new TransactionalPublisher.Record(TOPIC, 0, record.getBytes(StandardCharsets.UTF_8),
                String.valueOf(events.size()).getBytes(StandardCharsets.UTF_8), System.currentTimeMillis(), Map.of()));
        int slot = borrowSlot();
        try {
            List<TransactionalPublisher.Position> positions = publishers[slot].publish(records);
            keys.put(record, new Acknowledged(events.size(), System.currentTimeMillis(), positions.get(positions.size() - 1).offset()));
        } catch (RuntimeException e) {
            // written or not is known once the slot's publisher has ended the transaction as Kafka decided it
            unsettled.add(slot);
            try {
                settle();
            } catch (WatershedException notYet) {
                throw WatershedException.unavailable("Cannot write to topic '" + topic + "': " + e.getMessage() + "; whether it was "
                        + "written is not known yet (" + notYet.getMessage() + "); retry with the same Idempotency-Key",
                        Duration.ofSeconds(5), e);
            }
            if (!keys.containsKey(record)) {
                throw WatershedException.unavailable("Cannot write to topic '" + topic + "': " + e.getMessage()
                        + "; nothing was written, retry with the same Idempotency-Key", Duration.ofSeconds(5), e);
            }
            LOG.info("The transaction of Idempotency-Key '{}' on topic '{}' failed to confirm ({}) but Kafka committed it",
                    key, topic, e.getMessage());
        } finally {
            freeSlots.add(slot);
        }
    }

    /**
     * Recovers the slots whose last outcome is unknown and reads the keys again, so that a key is known exactly when
     * its transaction committed.
     */
    private void settle() {
        if (unsettled.isEmpty() && !keysStale) {
            return;
        }
        synchronized (unsettled) {
            for (Integer slot : List.copyOf(unsettled)) {
                // removed first: a slot that fails again meanwhile is added again and settled by its own thread
                unsettled.remove(slot);
                keysStale = true;
                try {
                    publishers[slot].recover(); // the publisher serialises this with a publish on the slot
                } catch (RuntimeException e) {
                    unsettled.add(slot);
                    throw e;
                }
            }
            if (keysStale) {
                load();
                keysStale = false;
            }
        }
    }

    private int borrowSlot() {
        try {
            return freeSlots.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WatershedException.unavailable("Cannot write: interrupted while waiting for a producer", Duration.ofSeconds(1), e);
        }
    }

    @Override
    public void close() {
        for (TransactionalPublisher publisher : publishers) {
            if (publisher != null) {
                publisher.close();
            }
        }
    }
}
