package io.watershed.spi;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * Writes records to the bus in transactions that end the same way on every partition they wrote, across
 * crashes of this process and restarts of the bus. Every transactional writer uses it: keyed ingest (HTTP
 * with an {@code Idempotency-Key}, forward chunks, file-tail batches, JDBC and CDC batches) and the
 * pipelines' stream sink.
 *
 * <p>A Kafka transaction can tear: once its coordinator has decided, it writes a marker on each partition,
 * and it skips the partitions that have no leader at that moment (after a broker restarts), leaving the
 * transaction decided but open there. A publisher therefore
 * <ul>
 *   <li>reports a {@link #publish} done only once no partition it wrote still holds the transaction open,
 *       completing it there itself if the markers do not come;
 *   <li>at {@link #recover}, ends whatever its transactional id left open the way Kafka decided it, reading
 *       that decision before initialising the id (which erases it) and recording it durably first, so a
 *       failure half-way is finished the same way by the next attempt;
 *   <li>never aborts when the decision is unknown: it waits, retries and, failing that, says why.
 * </ul>
 * One publisher is used by one thread at a time.
 */
public interface TransactionalPublisher extends AutoCloseable {

    /** One record to write: to {@code partition} when not null, else where Kafka's partitioner puts it. */
    record Record(String topic, Integer partition, byte[] key, byte[] value, long timestamp, Map<String, byte[]> headers) {
        public Record(String topic, byte[] key, byte[] value) {
            this(topic, null, key, value, System.currentTimeMillis(), Map.of());
        }
    }

    /** Where a record was written. */
    record Position(String topic, int partition, long offset) {}

    /**
     * Ends whatever this transactional id left open (in an earlier process or an earlier failed call) as
     * Kafka decided it, and initialises the id. After it returns, no transaction of this id is open on any
     * partition of the publisher's topics. Idempotent; {@link #publish} calls it when needed.
     *
     * @throws WatershedException UNAVAILABLE when the decision cannot be read or applied yet (a partition
     *     without a leader, the bus unreachable) or is lost; the message says which, and nothing was aborted
     */
    void recover();

    /**
     * Writes the records in one transaction and returns their positions, in order, once the transaction is
     * committed on every partition it wrote.
     *
     * @throws WatershedException UNAVAILABLE when it did not complete; whether the records were written is
     *     then known only after {@link #recover()} succeeded (a caller that needs it reads its own records
     *     back, as the commit records of a sink or the keys of keyed ingest)
     */
    List<Position> publish(List<Record> records);

    @Override
    void close();

    /** Made by the bus part; found with {@link ServiceLoader}, so that any part can write without importing it. */
    interface Factory {
        /**
         * @param bus how to reach the bus, and how the publisher's own topic is placed
         * @param producerSettings Kafka producer settings beyond the connection ({@code linger.ms}, timeouts)
         * @param transactionalId fixed across restarts: it is how a new process finds what the old one left open
         * @param topics the topics this id writes, searched for open transactions at {@link #recover()};
         *     empty for every topic
         */
        TransactionalPublisher create(BusConnection bus, Map<String, String> producerSettings, String transactionalId, Set<String> topics);
    }

    /** A publisher from the bus part on the class path. */
    static TransactionalPublisher create(BusConnection bus, Map<String, String> producerSettings, String transactionalId,
            Set<String> topics) {
        Factory factory = ServiceLoader.load(Factory.class, TransactionalPublisher.class.getClassLoader()).findFirst()
                .orElseThrow(() -> new IllegalStateException("Cannot write transactions: no " + Factory.class.getName()
                        + " on the class path (it comes with watershed-bus)"));
        return factory.create(bus, producerSettings, transactionalId, topics);
    }
}
