package io.watershed.spi;

import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The administration of stream topics that the lake's retention needs: what partitions hold, what pipelines have
 * read, and deleting what is no longer needed. Obtained from {@link EventBus#admin}; thread-safe. Offsets are per
 * partition of one topic.
 *
 * <p>Every call waits for the bus up to the timeout the admin was opened with and fails with a {@link WatershedException}
 * (UNAVAILABLE) when it does not answer in time or refuses.
 */
public interface BusAdmin extends AutoCloseable {

    /** The partitions of {@code topic}. */
    List<Integer> partitions(String topic);

    /** The bus deletes nothing of {@code topic} by age or size from now on: the platform deletes with {@link #deleteRecordsBefore}. */
    void turnOffBrokerRetention(String topic);

    /** The earliest offset each partition still holds. */
    Map<Integer, Long> earliestOffsets(String topic, Collection<Integer> partitions);

    /** The offset after each partition's last record. */
    Map<Integer, Long> endOffsets(String topic, Collection<Integer> partitions);

    /** Per partition, the offset of the first record written at or after {@code timestampMillis}; -1 when there is none. */
    Map<Integer, Long> offsetsAt(String topic, Collection<Integer> partitions, long timestampMillis);

    /** Bytes each partition holds on disk (its largest replica's); a partition no broker reports is left out. */
    Map<Integer, Long> sizes(String topic, Collection<Integer> partitions);

    /** Deletes each partition's records before the given offset. */
    void deleteRecordsBefore(String topic, Map<Integer, Long> offsets);

    /** Per partition of {@code topic}, the offset consumer group {@code group} has committed; empty when it has none. */
    Map<Integer, Long> committedOffsets(String group, String topic);

    @Override
    void close();
}
