package io.watershed.bus;

import io.watershed.bus.RecordedDecisions.Intent;
import io.watershed.bus.TransactionFate.Decision;
import io.watershed.bus.TransactionFate.Described;
import io.watershed.bus.TransactionFate.Open;
import io.watershed.spi.BusConnection;
import io.watershed.spi.EventBus;
import io.watershed.spi.TransactionalPublisher;
import io.watershed.spi.WatershedException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TransactionalIdNotFoundException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bus's {@link TransactionalPublisher}: one Kafka transactional id, written with the public client API only.
 *
 * <p><b>Publishing.</b> A transaction's records are sent, the commit is requested, and then the publisher checks
 * with {@code DescribeProducers} that no partition it wrote still holds the transaction open (the open entry
 * starts at the offset of the transaction's first record there). The coordinator writes those markers after it
 * answered the commit, and skips a partition that has no leader at that moment; if a partition stays open, the
 * publisher records the decision (commit) and completes the transaction there with a no-op record (header
 * {@value EventBus#NOOP_HEADER}, null value) from a new transaction of the same producer, which joins the open one
 * and commits it with its own marker. Only then is the publish done.
 *
 * <p><b>Recovering.</b> Before the id is initialised, which erases the coordinator's decision, the publisher
 * reads it ({@code DescribeTransactions} and the cluster's transaction version), finds the id's transactions
 * still open on its topics ({@code DescribeProducers}), decides their fate with {@link TransactionFate} and
 * writes that decision to the compacted topic {@value #DECISIONS}. Then it initialises the id, applies the
 * decision (a no-op commit, or {@code Admin.abortTransaction}), checks that nothing is open and clears the
 * decision. A recovery that fails half-way finds the decision again the next time; an unknown decision is never
 * turned into an abort.
 */
public final class KafkaTransactionalPublisher implements TransactionalPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaTransactionalPublisher.class);
    /** Decisions taken and not yet applied, by transactional id (compacted; a tombstone once applied). */
    public static final String DECISIONS = RecordedDecisions.TOPIC;
    private static final Duration RECOVERY_TIMEOUT = Duration.ofSeconds(60);
    /** How long the markers of a commit may take before the publisher completes the transaction itself. */
    private static final Duration MARKER_WAIT = Duration.ofSeconds(2);
    /** How long a commit may stay open on a partition, completions included, before the publish fails. */
    private static final Duration COMPLETION_TIMEOUT = Duration.ofSeconds(30);
    private static final byte[] NOOP_KEY = "_watershed_noop".getBytes(StandardCharsets.UTF_8);

    /** Tests only: called with the transactional id and a point ({@code after-init}, {@code before-commit}, {@code after-commit}). */
    private static volatile BiConsumer<String, String> testPoints;

    private final BusConnection bus;
    private final Map<String, String> producerSettings;
    private final String transactionalId;
    private final Set<String> topics;
    private final Admin admin;
    private KafkaProducer<byte[], byte[]> producer;
    private final RecordedDecisions decisions;
    private boolean ready;
    /** The producer id of the initialised producer, -1 when not known (then only exact start offsets identify ours). */
    private long producerId = -1;
    private long lastWarning;

    public KafkaTransactionalPublisher(BusConnection bus, Map<String, String> producerSettings, String transactionalId,
            Set<String> topics) {
        this.bus = bus;
        this.producerSettings = Map.copyOf(producerSettings);
        this.transactionalId = transactionalId;
        this.topics = Set.copyOf(topics);
        // each call is made when partitions may have no leader: bound it, the loops around it retry
        this.admin = BusClients.admin(bus, transactionalId + "-admin", Map.of(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000",
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000"));
        this.decisions = new RecordedDecisions(bus, transactionalId, admin);
    }

    /** Found by {@link TransactionalPublisher#create} through {@code META-INF/services}. */
    public static final class Factory implements TransactionalPublisher.Factory {
        @Override
        public TransactionalPublisher create(BusConnection bus, Map<String, String> producerSettings, String transactionalId,
                Set<String> topics) {
            return new KafkaTransactionalPublisher(bus, producerSettings, transactionalId, topics);
        }
    }

    // ---------------------------------------------------------------------------------------------- publishing

    @Override
    public synchronized List<Position> publish(List<Record> records) {
        recover();
        List<Future<RecordMetadata>> sent = new ArrayList<>(records.size());
        try {
            producer.beginTransaction();
            for (Record record : records) {
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(record.topic(), record.partition(), record.timestamp(),
                        record.key(), record.value());
                record.headers().forEach((name, value) -> r.headers().add(name, value));
                sent.add(producer.send(r));
            }
            producer.flush();
            reach("before-commit");
            producer.commitTransaction();
            reach("after-commit");
        } catch (KafkaException e) {
            discardProducer();
            throw WatershedException.unavailable("Cannot write a transaction of " + transactionalId + ": " + e.getMessage()
                    + "; whether it was written is settled when the publisher recovers", Duration.ofSeconds(1), e);
        } catch (RuntimeException e) {
            discardProducer();
            throw e;
        }
        // the coordinator has decided: commit. Report it done only once no partition still holds it open.
        List<Position> positions = new ArrayList<>(sent.size());
        Map<TopicPartition, Long> firstOffsets = byPartition();
        try {
            for (Future<RecordMetadata> future : sent) {
                RecordMetadata metadata = future.get();
                positions.add(new Position(metadata.topic(), metadata.partition(), metadata.offset()));
                firstOffsets.merge(new TopicPartition(metadata.topic(), metadata.partition()), metadata.offset(), Math::min);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            discardProducer();
            throw WatershedException.unavailable("Cannot confirm a transaction of " + transactionalId + ": interrupted",
                    Duration.ofSeconds(1), e);
        } catch (ExecutionException e) {
            discardProducer(); // cannot happen after a successful commit, but never report what is not known
            throw WatershedException.unavailable("Cannot confirm a transaction of " + transactionalId + ": " + e.getCause(),
                    Duration.ofSeconds(1), e.getCause());
        }
        try {
            completeCommit(firstOffsets);
        } catch (RuntimeException e) {
            discardProducer();
            throw e instanceof WatershedException w ? w : WatershedException.unavailable("Cannot confirm a transaction of "
                    + transactionalId + ": " + e.getMessage() + "; it is committed and is completed when the publisher recovers",
                    Duration.ofSeconds(1), e);
        }
        return positions;
    }

    /**
     * Waits for the commit markers of a transaction Kafka committed on each partition it wrote (the open entry there
     * starts at the transaction's first record); completes it with a no-op on the partitions whose markers do not
     * come, after recording the decision so that a crash in between commits it too.
     */
    private void completeCommit(Map<TopicPartition, Long> firstOffsets) {
        long deadline = System.nanoTime() + COMPLETION_TIMEOUT.toNanos();
        List<Open> entries = new ArrayList<>();
        Map<TopicPartition, Long> open = firstOffsets;
        while (entries.isEmpty()) {
            open = awaitClosed(open, MARKER_WAIT);
            if (open.isEmpty()) {
                return;
            }
            try {
                for (Open entry : openTransactions(open.keySet())) {
                    if (ours(entry, open)) {
                        entries.add(entry);
                    }
                }
                if (entries.isEmpty()) {
                    return;
                }
            } catch (Retriable e) {
                // a partition without a leader cannot say: wait for it (its marker cannot have been written either)
                if (System.nanoTime() > deadline) {
                    throw WatershedException.unavailable("Cannot confirm a transaction of " + transactionalId + ": Kafka committed it, "
                            + "but " + e.getMessage() + " after " + COMPLETION_TIMEOUT.toSeconds() + " s; it is completed when the "
                            + "publisher recovers", Duration.ofSeconds(5), e);
                }
            }
        }
        LOG.warn("Transaction of {} committed, but its commit marker is missing on {} (Kafka skips the markers of a partition that "
                + "has no leader); completing it there with a no-op record", transactionalId, entries);
        decisions.write(new Intent(Decision.COMMIT, "committed by this process", entries));
        while (true) {
            Map<TopicPartition, Long> still;
            try {
                still = applyCommit(entries);
            } catch (Retriable e) {
                still = open;
            }
            if (still.isEmpty()) {
                decisions.clear();
                return;
            }
            if (System.nanoTime() > deadline) {
                throw WatershedException.unavailable("Cannot confirm a transaction of " + transactionalId + ": Kafka committed it, "
                        + "but it is still open on " + still.keySet() + " after " + COMPLETION_TIMEOUT.toSeconds() + " s; the "
                        + "decision is recorded on " + DECISIONS + " and the transaction is completed when the publisher recovers",
                        Duration.ofSeconds(5), null);
            }
        }
    }

    /**
     * Whether an open transaction is this producer's: any of its producer id on a partition it wrote (before a publish
     * none is open, so one there now is this transaction, or a no-op's that completes it), or one that starts where
     * this transaction's first record on the partition is.
     */
    private boolean ours(Open entry, Map<TopicPartition, Long> firstOffsets) {
        Long first = firstOffsets.get(entry.partition());
        return first != null && ((producerId >= 0 && entry.producerId() == producerId) || entry.startOffset() == first);
    }

    /** The partitions on which this producer's transaction (see {@link #ours}) is still open after {@code wait}. */
    private Map<TopicPartition, Long> awaitClosed(Map<TopicPartition, Long> firstOffsets, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        long pause = 1;
        Map<TopicPartition, Long> open = byPartition();
        open.putAll(firstOffsets);
        while (true) {
            try {
                Set<TopicPartition> stillOpen = openTransactions(open.keySet()).stream()
                        .filter(o -> ours(o, open)).map(Open::partition).collect(Collectors.toSet());
                open.keySet().retainAll(stillOpen);
            } catch (Retriable e) {
                LOG.debug("Cannot check the markers of {} yet: {}", transactionalId, e.getMessage());
            }
            if (open.isEmpty() || System.nanoTime() > deadline) {
                return open;
            }
            sleep(pause);
            pause = Math.min(pause * 2, 100);
        }
    }

    /**
     * One no-op transaction on the partitions where these entries are still open (each of which must say so: a no-op
     * to a partition without a leader would wait for one); returns where they remain open.
     */
    private Map<TopicPartition, Long> applyCommit(List<Open> entries) {
        Map<TopicPartition, Long> starts = byPartition();
        entries.forEach(e -> starts.put(e.partition(), e.startOffset()));
        Map<TopicPartition, Long> open = byPartition();
        for (Open entry : openTransactions(starts.keySet())) {
            if (ours(entry, starts)) {
                open.put(entry.partition(), entry.startOffset());
            }
        }
        if (open.isEmpty()) {
            return open;
        }
        producer.beginTransaction();
        for (TopicPartition partition : open.keySet()) {
            ProducerRecord<byte[], byte[]> noop = new ProducerRecord<>(partition.topic(), partition.partition(), NOOP_KEY, null);
            noop.headers().add(EventBus.NOOP_HEADER, new byte[] {1});
            producer.send(noop);
        }
        producer.commitTransaction();
        return awaitClosed(open, MARKER_WAIT);
    }

    // ---------------------------------------------------------------------------------------------- recovering

    @Override
    public synchronized void recover() {
        if (ready) {
            return;
        }
        discardProducer();
        long deadline = System.nanoTime() + RECOVERY_TIMEOUT.toNanos();
        long pause = 100;
        while (true) {
            try {
                recoverOnce();
                ready = true;
                return;
            } catch (Retriable e) {
                discardProducer();
                if (System.nanoTime() > deadline) {
                    throw WatershedException.unavailable("Cannot recover the transactions of " + transactionalId + ": " + e.getMessage()
                            + ". Nothing was aborted on a guess; the next attempt tries again", Duration.ofSeconds(5), e);
                }
                if (System.currentTimeMillis() - lastWarning > 10_000) {
                    lastWarning = System.currentTimeMillis();
                    LOG.warn("Transactions of {} wait: {}; retrying", transactionalId, e.getMessage());
                }
                sleep(pause);
                pause = Math.min(pause * 2, 1_000);
            } catch (KafkaException e) {
                discardProducer();
                if (System.nanoTime() > deadline) {
                    throw WatershedException.unavailable("Cannot recover the transactions of " + transactionalId + ": " + e.getMessage(),
                            Duration.ofSeconds(5), e);
                }
                sleep(pause);
                pause = Math.min(pause * 2, 1_000);
            }
        }
    }

    private void recoverOnce() {
        Intent intent = decisions.read();
        if (intent == null) {
            Described described = describe();
            List<Open> open = described.found() ? openTransactions(scope()).stream()
                    .filter(o -> o.producerId() == described.producerId()).toList() : List.of();
            TransactionFate.Outcome outcome = TransactionFate.decide(described, open.isEmpty() ? 0 : transactionVersion(), open);
            switch (outcome.decision()) {
                case UNKNOWN -> throw new Retriable(outcome.reason());
                case NONE -> {}
                default -> {
                    List<Open> ours = open;
                    intent = new Intent(outcome.decision(), outcome.reason(), ours);
                    LOG.warn("Transaction of {} left open on {}: {}; it is {} there", transactionalId, ours, outcome.reason(),
                            outcome.decision() == Decision.COMMIT ? "committed" : "aborted");
                    decisions.write(intent);
                }
            }
        }
        initProducer();
        reach("after-init");
        if (intent != null) {
            apply(intent);
            decisions.clear();
        }
    }

    private void apply(Intent intent) {
        long deadline = System.nanoTime() + RECOVERY_TIMEOUT.toNanos();
        while (true) {
            List<Open> still = stillOpen(intent.open());
            if (still.isEmpty()) {
                return;
            }
            if (intent.decision() == Decision.COMMIT) {
                Described now = describe();
                if (now.error() != null) {
                    throw new Retriable("cannot read the transaction's state from its coordinator: " + now.error());
                }
                if (still.stream().anyMatch(o -> o.producerId() != now.producerId())) {
                    throw new Retriable("Kafka committed the transaction open on " + still + ", but the id now has another producer ("
                            + now.producerId() + "), whose transactions cannot complete it");
                }
                applyCommit(still);
            } else {
                for (Open entry : still) {
                    try {
                        admin.abortTransaction(new AbortTransactionSpec(entry.partition(), entry.producerId(), (short) entry.epoch(),
                                entry.coordinatorEpoch())).all().get();
                    } catch (ExecutionException e) {
                        throw new Retriable("cannot abort the transaction open on " + entry + ": " + e.getCause().getMessage());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new Retriable("interrupted");
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw new Retriable("the transaction is still open on " + stillOpen(intent.open()) + " after applying the decision ("
                        + intent.decision() + ")");
            }
        }
    }

    /**
     * The transactions still open on the intent's partitions under the intent's producer: the recorded one, or a
     * no-op's that completed it there (its marker skipped in turn).
     */
    private List<Open> stillOpen(List<Open> entries) {
        Set<TopicPartition> partitions = entries.stream().map(Open::partition).collect(Collectors.toSet());
        List<Open> now = openTransactions(partitions);
        List<Open> still = new ArrayList<>();
        for (Open recorded : entries) {
            now.stream().filter(o -> o.partition().equals(recorded.partition()) && o.producerId() == recorded.producerId())
                    .findFirst().ifPresent(still::add);
        }
        return still;
    }

    private void initProducer() {
        Properties p = BusClients.properties(bus, transactionalId, producerSettings);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, transactionalId); // one per id: clients sharing one collide in JMX
        KafkaProducer<byte[], byte[]> created = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        try {
            created.initTransactions();
        } catch (RuntimeException e) {
            created.close(Duration.ZERO);
            throw e;
        }
        producer = created;
        Described described = describe();
        producerId = described.error() == null && described.found() ? described.producerId() : -1;
    }

    /** Closes the producer without ending its transaction: what it left is decided by {@link #recover}. */
    private void discardProducer() {
        ready = false;
        if (producer != null) {
            try {
                producer.close(Duration.ZERO);
            } catch (RuntimeException e) {
                LOG.debug("Cannot close the producer of {}: {}", transactionalId, e.toString());
            }
            producer = null;
        }
    }

    // ---------------------------------------------------------------------------------------------- what Kafka says

    private Described describe() {
        try {
            var d = admin.describeTransactions(List.of(transactionalId)).description(transactionalId).get();
            return new Described(d.state(), d.producerId(), d.producerEpoch(), null);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TransactionalIdNotFoundException) {
                return Described.notFound();
            }
            return Described.failed(e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Described.failed("interrupted");
        }
    }

    private int transactionVersion() {
        try {
            var feature = admin.describeFeatures().featureMetadata().get().finalizedFeatures().get("transaction.version");
            return feature == null ? 0 : feature.maxVersionLevel();
        } catch (ExecutionException e) {
            throw new Retriable("cannot read the cluster's transaction version: " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Retriable("interrupted");
        }
    }

    /** Every partition of the publisher's topics (all topics when it names none); topics that do not exist are skipped. */
    private Set<TopicPartition> scope() {
        try {
            Set<String> names = new HashSet<>(topics.isEmpty() ? admin.listTopics().names().get() : topics);
            Set<TopicPartition> partitions = new HashSet<>();
            for (var entry : admin.describeTopics(names).topicNameValues().entrySet()) {
                try {
                    TopicDescription description = entry.getValue().get();
                    description.partitions().forEach(p -> partitions.add(new TopicPartition(description.name(), p.partition())));
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                        throw new Retriable("cannot describe topic " + entry.getKey() + ": " + e.getCause().getMessage());
                    }
                }
            }
            return partitions;
        } catch (ExecutionException e) {
            throw new Retriable("cannot list the topics: " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Retriable("interrupted");
        }
    }

    /** The transactions open on these partitions, of every producer; fails (to be retried) if any partition cannot say. */
    private List<Open> openTransactions(Set<TopicPartition> partitions) {
        if (partitions.isEmpty()) {
            return List.of();
        }
        List<Open> open = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        var result = admin.describeProducers(partitions);
        for (TopicPartition partition : partitions) {
            try {
                for (ProducerState state : result.partitionResult(partition).get().activeProducers()) {
                    if (state.currentTransactionStartOffset().isPresent()) {
                        open.add(new Open(partition, state.producerId(), state.producerEpoch(),
                                state.currentTransactionStartOffset().getAsLong(), state.coordinatorEpoch().orElse(0)));
                    }
                }
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException && !topics.isEmpty() && !topics.contains(partition.topic()))) {
                    failed.add(partition + " (" + e.getCause().getMessage() + ")");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Retriable("interrupted");
            }
        }
        if (!failed.isEmpty()) {
            throw new Retriable("cannot see which transactions are open on " + String.join(", ", failed));
        }
        return open;
    }

    // ----------------------------------------------------------------------------------------------

    /**
     * Tests only: {@code hook} is called with the transactional id at {@code after-init} (recovery initialised the id),
     * {@code before-commit} (records flushed) and {@code after-commit} (the coordinator accepted the commit); a
     * torn-transaction test stops a broker there, or throws to play a crash. Null removes it.
     */
    public static void onTestPoint(BiConsumer<String, String> hook) {
        testPoints = hook;
    }

    private void reach(String point) {
        BiConsumer<String, String> hook = testPoints;
        if (hook != null) {
            hook.accept(transactionalId, point);
        }
    }

    /** Partitions to offsets, in a stable order for the log. */
    private static Map<TopicPartition, Long> byPartition() {
        return new TreeMap<>(Comparator.comparing(TopicPartition::toString));
    }

    private void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WatershedException.unavailable("Cannot finish the transactions of " + transactionalId + ": interrupted",
                    Duration.ofSeconds(1), e);
        }
    }

    @Override
    public synchronized void close() {
        discardProducer();
        try {
            decisions.close();
        } finally {
            admin.close(Duration.ofSeconds(5));
        }
    }

    @Override
    public String toString() {
        return "transactions of " + transactionalId;
    }

    /** A reason recovery cannot go on yet; it is retried until its deadline. */
    static final class Retriable extends RuntimeException {
        Retriable(String message) {
            super(message, null, false, false);
        }
    }
}
