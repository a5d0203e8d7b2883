package io.watershed.spi;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A reader of the bus for a part that keeps its own positions (the lake keeps them in its Iceberg snapshots). It is
 * assigned its partitions by hand, reads committed records only (nothing of an open or aborted transaction; the end
 * of a partition is its last stable offset) and never commits offsets on its own. A position is the offset of the next
 * record to read; a partition assigned without {@link #seek} starts at its earliest record.
 *
 * <p>Obtained from {@link EventBus#reader}; one thread uses it, except for {@link #wakeup}. A call that the bus does not
 * answer fails with the bus client's {@link RuntimeException}; the reader should then be closed and replaced.
 */
public interface BusReader extends AutoCloseable {

    /** How a reader fetches: the lake writers read in bulk, the fresh tail while a query waits. */
    enum Pace {
        /**
         * Large fetches (up to 5,000 records a poll, 64 MiB a fetch, 8 MiB a partition). The reader's name is also a
         * consumer group, in which {@link #recordProgress} shows how far it has come (kafka-consumer-groups).
         */
        BULK,
        /** A fetch waits at most 50 ms for records (up to 5,000 a poll); no consumer group. */
        PROMPT
    }

    /**
     * Thrown by the call {@link #wakeup} interrupted (or by the next blocking call, if none was under way); the reader
     * stays usable and its positions are those of the last records returned.
     */
    final class WokenUp extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public WokenUp(Throwable cause) {
            super("the bus reader was woken up", cause);
        }
    }

    /** The partitions of {@code topic}, empty when it does not exist; waits up to {@code timeout} for the bus. */
    List<Integer> partitions(String topic, Duration timeout);

    /** Reads these partitions from now on, and no others. */
    void assign(Collection<BusPartition> partitions);

    /** The partitions assigned. */
    Set<BusPartition> assignment();

    /** The earliest offset each partition still holds (what retention has not deleted). */
    Map<BusPartition, Long> beginningOffsets(Collection<BusPartition> partitions);

    /** Each partition's end for this reader: the offset after its last committed record. */
    Map<BusPartition, Long> endOffsets(Collection<BusPartition> partitions, Duration timeout);

    /** The next {@link #poll} returns the partition's records from {@code offset} on. */
    void seek(BusPartition partition, long offset);

    /** The offset of the next record the partition gives; past transaction markers and aborted records too. */
    long position(BusPartition partition);

    /** Polls return no records of these partitions until they are resumed; their positions stay. */
    void pause(Collection<BusPartition> partitions);

    void resume(Collection<BusPartition> partitions);

    /** The next records of the assigned partitions, in offset order per partition; waits up to {@code timeout} for some. */
    List<BusRecord> poll(Duration timeout);

    /**
     * Records, asynchronously, how far the reader has come in its consumer group (a {@link Pace#BULK} reader's name), for
     * tools to show; the reader's truth is elsewhere. {@code onFailure} runs in a later call of this reader if the bus
     * refuses.
     *
     * @param next per partition, the next offset to read
     */
    void recordProgress(Map<BusPartition, Long> next, Consumer<Exception> onFailure);

    /** Makes the current (or next) blocking call of this reader throw {@link WokenUp}; any thread may call it. */
    void wakeup();

    /** Closes the reader, waiting up to {@code timeout} for its connection to end. */
    void close(Duration timeout);

    @Override
    void close();
}
