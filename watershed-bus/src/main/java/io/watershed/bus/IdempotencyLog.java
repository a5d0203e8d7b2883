package io.watershed.bus;

import io.watershed.spi.EventBus;
import io.watershed.spi.EventBus.Event;
import io.watershed.spi.WatershedException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Idempotency keys kept in Kafka itself. A request with a key is published in a transaction
 * together with a record {@code stream/key → count} on the compacted topic {@value #TOPIC}; at start
 * the topic is read back, so a retry after a crash or restart is recognised. Transactions are what
 * make this exact: if the process dies before the commit, neither the events nor the key become
 * visible (the lake writer reads committed records only), and the retry writes them once.
 */
final class IdempotencyLog implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(IdempotencyLog.class);
    static final String TOPIC = "_watershed_idempotency";
    static final Duration RETENTION = Duration.ofHours(24);
    private static final int PRODUCERS = 2;

    private final String bootstrapServers;
    private final Map<String, Acknowledged> keys = new ConcurrentHashMap<>();
    /** Free slots; slot i owns transactional id {@code watershed-ingest-i} and its producer, created on first use. */
    private final BlockingQueue<Integer> freeSlots = new ArrayBlockingQueue<>(PRODUCERS);
    private final KafkaProducer<byte[], byte[]>[] producers;
    private final Properties producerProperties;
    private final Admin admin;
    private final TopicPartition keyPartition = new TopicPartition(TOPIC, 0);
    /** The key topic's last stable offset as last seen: every key record below it has its commit marker. */
    private volatile long stableOffset;

    /** A key, the number of events written under it, when, and the offset of its record on {@value #TOPIC}. */
    private record Acknowledged(int count, long atMillis, long offset) {}

    IdempotencyLog(String bootstrapServers, Admin admin, Properties baseProducerProperties) {
        this.bootstrapServers = bootstrapServers;
        this.producerProperties = baseProducerProperties;
        this.admin = admin;
        @SuppressWarnings("unchecked")
        KafkaProducer<byte[], byte[]>[] slots = new KafkaProducer[PRODUCERS];
        this.producers = slots;
        createTopic(admin);
        Map<Long, Short> committing = committedDecisions(admin);
        // initialise every transactional id first: that aborts whatever a killed process left open,
        // so the read below (read_committed, up to the last stable offset) sees every committed key
        for (int i = 0; i < PRODUCERS; i++) {
            producer(i);
            freeSlots.add(i);
        }
        resolveHangingTransactions(admin, committing);
        awaitNoOpenTransactions(admin);
        load();
    }

    /**
     * Ends transactions of our transactional ids that are still open on some partition after those ids
     * were initialised, the way Kafka decided them. Initialising an id makes its coordinator finish the
     * id's last transaction, so anything still open is one whose markers the coordinator will never
     * write: Kafka skips the markers of a partition that has no leader at that moment ("these partitions
     * are likely deleted already"), which after a kill -9 of this single-node broker can be any partition
     * until the broker rejoins. Such a transaction holds back every read-committed reader, and the next
     * transaction of the same producer would end it with its own marker, whatever was decided.
     * <ul>
     *   <li>Kafka decided to abort it (or never decided): it is aborted. Nothing in it was acknowledged:
     *       a request is answered only once its commit marker is on the key topic ({@link #awaitStable}).
     *   <li>Kafka decided to commit it: its other partitions have their commit markers, so aborting these
     *       would tear it apart (a retry would then write the committed part twice, as CrashRecoveryIT
     *       once caught). It is committed here as well ({@link #completeCommitted}).
     * </ul>
     */
    private void resolveHangingTransactions(Admin admin, Map<Long, Short> committing) {
        try {
            List<String> ids = java.util.stream.IntStream.range(0, PRODUCERS).mapToObj(IdempotencyLog::transactionalId).toList();
            Map<Long, Integer> ours = new java.util.HashMap<>();
            for (int slot = 0; slot < PRODUCERS; slot++) {
                ours.put(admin.describeTransactions(List.of(ids.get(slot))).description(ids.get(slot)).get().producerId(), slot);
            }
            Map<Integer, List<TopicPartition>> toCommit = new java.util.TreeMap<>();
            java.util.Set<String> topics = admin.listTopics().names().get();
            List<TopicPartition> partitions = new java.util.ArrayList<>();
            for (var topic : admin.describeTopics(topics).allTopicNames().get().values()) {
                topic.partitions().forEach(p -> partitions.add(new TopicPartition(topic.name(), p.partition())));
            }
            for (var entry : admin.describeProducers(partitions).all().get().entrySet()) {
                for (var producer : entry.getValue().activeProducers()) {
                    if (!ours.containsKey(producer.producerId()) || producer.currentTransactionStartOffset().isEmpty()) {
                        continue;
                    }
                    Short committed = committing.get(producer.producerId());
                    if (committed != null && committed == producer.producerEpoch()) {
                        toCommit.computeIfAbsent(ours.get(producer.producerId()), s -> new java.util.ArrayList<>()).add(entry.getKey());
                        continue;
                    }
                    LOG.warn("Aborting a transaction a killed process left open on {} (producer {}, epoch {}, from offset {}); "
                            + "Kafka did not decide to commit it, so none of its events was acknowledged", entry.getKey(),
                            producer.producerId(), producer.producerEpoch(), producer.currentTransactionStartOffset().getAsLong());
                    admin.abortTransaction(new AbortTransactionSpec(entry.getKey(), producer.producerId(),
                            (short) producer.producerEpoch(), producer.coordinatorEpoch().orElse(0))).all().get();
                }
            }
            toCommit.forEach(this::completeCommitted);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while looking for transactions left open", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Cannot look for transactions left open by a killed process: "
                    + e.getCause().getMessage(), e.getCause());
        }
    }

    /**
     * The transactions Kafka had decided to commit when the process died (producer id to epoch), read
     * before our ids are initialised, which forgets them.
     */
    private static Map<Long, Short> committedDecisions(Admin admin) {
        Map<Long, Short> committing = new java.util.HashMap<>();
        for (int slot = 0; slot < PRODUCERS; slot++) {
            String id = transactionalId(slot);
            try {
                var description = admin.describeTransactions(List.of(id)).description(id).get();
                if (description.state() == org.apache.kafka.clients.admin.TransactionState.PREPARE_COMMIT
                        || description.state() == org.apache.kafka.clients.admin.TransactionState.COMPLETE_COMMIT) {
                    committing.put(description.producerId(), (short) description.producerEpoch());
                }
            } catch (ExecutionException e) {
                LOG.debug("No transaction state for {} yet: {}", id, e.getCause().toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while reading transaction states", e);
            }
        }
        return committing;
    }

    /**
     * Kafka decided to commit this slot's last transaction, and wrote the commit markers of some of its
     * partitions but skipped these (they had no leader yet as the broker rejoined). Aborting them would
     * tear the transaction apart: its other partitions are committed. A new transaction of the same
     * producer that writes a no-op record to each of them ends the open one there with a commit marker.
     */
    private void completeCommitted(int slot, List<TopicPartition> partitions) {
        KafkaProducer<byte[], byte[]> producer = producer(slot);
        LOG.warn("Committing a transaction Kafka committed but left open on {} after a kill (its markers were skipped); "
                + "a no-op record ({} header) marks each", partitions, EventBus.NOOP_HEADER);
        producer.beginTransaction();
        for (TopicPartition partition : partitions) {
            ProducerRecord<byte[], byte[]> noop = new ProducerRecord<>(partition.topic(), partition.partition(),
                    "_watershed_noop".getBytes(StandardCharsets.UTF_8), null);
            noop.headers().add(EventBus.NOOP_HEADER, new byte[] {1});
            producer.send(noop);
        }
        producer.commitTransaction();
    }

    private static String transactionalId(int slot) {
        return "watershed-ingest-" + slot;
    }

    private static void createTopic(Admin admin) {
        NewTopic topic = new NewTopic(TOPIC, 1, (short) 1).configs(Map.of(
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
     * Waits until no transaction is open on the key topic (its last stable offset reaches its end). Our
     * own transactional ids were just initialised, so an open one is left over from a process that died:
     * the coordinator commits or aborts it shortly. Reading keys before that could miss a key whose
     * events become visible a moment later, and a retry would then write them twice.
     */
    private static void awaitNoOpenTransactions(Admin admin) {
        TopicPartition partition = new TopicPartition(TOPIC, 0);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        try {
            while (true) {
                long stable = admin.listOffsets(Map.of(partition, OffsetSpec.latest()),
                        new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).partitionResult(partition).get().offset();
                long end = admin.listOffsets(Map.of(partition, OffsetSpec.latest()),
                        new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED)).partitionResult(partition).get().offset();
                if (stable >= end) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    // longer than the transaction timeout (20 s): reading on is the best left; a key whose
                    // transaction commits after this point is not known, and its retry could write twice
                    LOG.warn("A transaction on {} is still open after 30 s (stable offset {}, end {}); reading the "
                            + "Idempotency-Keys without it", TOPIC, stable, end);
                    return;
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for open transactions on " + TOPIC, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Cannot read the offsets of " + TOPIC + ": " + e.getCause().getMessage(), e.getCause());
        }
    }

    private void load() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        TopicPartition partition = new TopicPartition(TOPIC, 0);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            long oldest = System.currentTimeMillis() - RETENTION.toMillis();
            stableOffset = Math.max(stableOffset, end); // read_committed: the end is the last stable offset
            while (consumer.position(partition) < end) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (record.key() != null && record.value() != null && record.timestamp() >= oldest) {
                        keys.put(new String(record.key(), StandardCharsets.UTF_8),
                                new Acknowledged(Integer.parseInt(new String(record.value(), StandardCharsets.UTF_8)), record.timestamp(),
                                        record.offset()));
                    }
                }
            }
        }
    }

    Optional<Integer> publishedUnder(String topic, String key) {
        Acknowledged ack = keys.get(topic + '/' + key);
        if (ack == null || ack.atMillis() < System.currentTimeMillis() - RETENTION.toMillis()) {
            return Optional.empty();
        }
        if (!awaitStable(ack.offset(), Duration.ofSeconds(5))) {
            throw WatershedException.unavailable("The batch under Idempotency-Key '" + key + "' is committed but its commit "
                    + "is not visible yet; retry with the same key", Duration.ofSeconds(1), null);
        }
        return Optional.of(ack.count());
    }

    /**
     * Waits until the key record at {@code offset} is below the key topic's last stable offset, that is,
     * until its commit marker is written. The producer's commit returns once the coordinator has decided;
     * the markers follow. Answering only after them means that no acknowledged batch can be caught by a
     * crash between decision and markers.
     */
    private boolean awaitStable(long offset, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (offset >= stableOffset) {
                long stable = admin.listOffsets(Map.of(keyPartition, OffsetSpec.latest()),
                        new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).partitionResult(keyPartition).get().offset();
                stableOffset = Math.max(stableOffset, stable);
                if (offset < stable) {
                    return true;
                }
                if (System.nanoTime() > deadline) {
                    return false;
                }
                Thread.sleep(2);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            LOG.warn("Cannot read the last stable offset of {}: {}", TOPIC, e.getCause().toString());
            return false;
        }
    }

    void publish(String topic, List<Event> events, String key) {
        int slot = borrowSlot();
        boolean healthy = true;
        try {
            KafkaProducer<byte[], byte[]> producer = producer(slot);
            producer.beginTransaction();
            for (Event event : events) {
                producer.send(KafkaEventBus.record(topic, event));
            }
            String record = topic + '/' + key;
            Future<org.apache.kafka.clients.producer.RecordMetadata> marker = producer.send(new ProducerRecord<>(TOPIC, record.getBytes(StandardCharsets.UTF_8),
                    String.valueOf(events.size()).getBytes(StandardCharsets.UTF_8)));
            try {
                producer.commitTransaction();
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                // the commit may or may not have happened: settle it before answering
                if (settle(slot, record)) {
                    return;
                }
                throw WatershedException.unavailable("Cannot write to topic '" + topic + "': the transaction timed out and was "
                        + "aborted; nothing was written, retry with the same Idempotency-Key", Duration.ofSeconds(5), e);
            }
            long offset = marker.get().offset();
            keys.put(record, new Acknowledged(events.size(), System.currentTimeMillis(), offset));
            if (!awaitStable(offset, Duration.ofSeconds(30))) {
                throw WatershedException.unavailable("Cannot confirm the write to topic '" + topic + "': it is committed but "
                        + "its commit is not visible after 30 s; retry with the same Idempotency-Key", Duration.ofSeconds(5), null);
            }
        } catch (ProducerFencedException e) {
            healthy = false;
            throw WatershedException.unavailable("Cannot write to topic '" + topic + "': the transactional producer was fenced; "
                    + "retry with the same Idempotency-Key", Duration.ofSeconds(1), e);
        } catch (KafkaException | ExecutionException e) {
            try {
                producers[slot].abortTransaction();
            } catch (RuntimeException abortFailed) {
                healthy = false;
            }
            throw WatershedException.unavailable("Cannot write to topic '" + topic + "': " + e.getMessage()
                    + "; nothing was written, retry with the same Idempotency-Key", Duration.ofSeconds(5), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            healthy = false;
            throw WatershedException.unavailable("Cannot write to topic '" + topic + "': interrupted", Duration.ofSeconds(1), e);
        } finally {
            if (!healthy && producers[slot] != null) {
                producers[slot].close(Duration.ZERO);
                producers[slot] = null;
            }
            freeSlots.add(slot);
        }
    }

    /**
     * After a commit of unknown outcome: a new producer with the slot's transactional id completes or
     * aborts the old transaction, then the key topic is read again. Returns whether the key committed.
     */
    private boolean settle(int slot, String record) {
        producers[slot].close(Duration.ZERO);
        producers[slot] = null;
        producer(slot);
        load();
        return keys.containsKey(record);
    }

    private int borrowSlot() {
        try {
            return freeSlots.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WatershedException.unavailable("Cannot write: interrupted while waiting for a producer", Duration.ofSeconds(1), e);
        }
    }

    /** The slot's producer; only the thread holding the slot calls this. */
    private KafkaProducer<byte[], byte[]> producer(int slot) {
        if (producers[slot] == null) {
            Properties p = new Properties();
            p.putAll(producerProperties);
            // a fixed id per slot: after a crash, the next start aborts whatever the old process left open
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId(slot));
            // a transaction a dead process left open holds back every read-committed reader until it is
            // aborted: keep that bound short (a request's transaction takes well under a second)
            p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "20000");
            KafkaProducer<byte[], byte[]> created = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
            try {
                created.initTransactions();
            } catch (RuntimeException e) {
                created.close(Duration.ZERO);
                throw e;
            }
            producers[slot] = created;
        }
        return producers[slot];
    }

    @Override
    public void close() {
        for (KafkaProducer<byte[], byte[]> producer : producers) {
            if (producer != null) {
                producer.close(Duration.ofSeconds(10));
            }
        }
    }
}
