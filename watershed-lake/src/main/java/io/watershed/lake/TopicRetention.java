package io.watershed.lake;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.watershed.spi.BusAdmin;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.iceberg.catalog.TableIdentifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps each stream's topic only as long as it is needed. Kafka's own retention deletes by age or size
 * whether or not the lake has committed the records, so it is turned off on stream topics
 * ({@code retention.ms = -1}, {@code retention.bytes = -1}) and applied here instead: records older than the
 * stream's {@code retention} (default 7 days), or beyond its {@code retention_size} per partition, are deleted
 * with {@link BusAdmin#deleteRecordsBefore} — but never past the offsets the raw table's current snapshot has committed, nor past
 * the offsets a pipeline reading the stream has committed (its consumer group's, which Flink commits at each
 * checkpoint). Records that are due but not yet committed stay, are counted in
 * {@code watershed_stream_retention_overdue_records} and logged: the alarm that the lake writer or a pipeline is behind.
 */
public final class TopicRetention implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TopicRetention.class);
    /** Retention of a stream that declares none: Kafka's default. */
    public static final Duration DEFAULT_RETENTION = Duration.ofDays(7);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final BusAdmin admin;
    private final IcebergLake lake;
    private final Supplier<Collection<StreamSpec>> streams;
    private final Supplier<Collection<String>> readerGroups;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Set<String> configured = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicLong> overdue = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> deleted = new ConcurrentHashMap<>();
    /** Since when each stream has had overdue records, and whether that was logged. */
    private final Map<String, Long> overdueSince = new ConcurrentHashMap<>();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    /** Records that arrive already old are overdue until the next lake commit: only a lasting backlog is worth a warning. */
    static final Duration ALARM_AFTER = Duration.ofMinutes(1);

    /**
     * @param readerGroups consumer groups of the pipelines: a partition is never trimmed past what one of them has
     *        committed for it (a group that has committed nothing for a topic is taken not to read it)
     */
    public TopicRetention(EventBus bus, IcebergLake lake, Supplier<Collection<StreamSpec>> streams,
            Supplier<Collection<String>> readerGroups, MeterRegistry meters, Clock clock) {
        this.admin = bus.admin("watershed-retention", TIMEOUT);
        this.lake = lake;
        this.streams = streams;
        this.readerGroups = readerGroups;
        this.meters = meters;
        this.clock = clock;
    }

    /** Applies every stream's retention once; one stream's failure is logged and does not stop the others. */
    public void apply() {
        for (StreamSpec stream : streams.get()) {
            try {
                apply(stream);
            } catch (RuntimeException e) {
                LOG.warn("Cannot apply the retention of stream '{}' now; it is tried again in the next pass: {}", stream.name(),
                        e.toString());
            }
        }
    }

    /** Records of the stream past retention that the lake has not committed yet (and that are kept for it). */
    public long overdue(String stream) {
        AtomicLong n = overdue.get(stream);
        return n == null ? 0 : n.get();
    }

    void apply(StreamSpec stream) {
        TableIdentifier raw = TableIdentifier.of(IcebergLake.RAW, stream.name());
        if (!lake.catalog().tableExists(raw)) {
            return; // nothing landed yet: the lake writer still needs every record
        }
        String topic = stream.topic();
        if (!configured.contains(topic)) {
            admin.turnOffBrokerRetention(topic);
            configured.add(topic);
            register(stream.name());
        }
        Map<Integer, Long> committed = CommittedOffsets.of(lake.catalog().loadTable(raw));
        if (stream.stateTable()) {
            // state.<stream> reads the same records and must have applied them too
            TableIdentifier state = TableIdentifier.of(StateTableWriter.STATE, stream.name());
            Map<Integer, Long> applied = lake.catalog().tableExists(state) ? CommittedOffsets.of(lake.catalog().loadTable(state))
                    : Map.of();
            Map<Integer, Long> both = new HashMap<>();
            committed.forEach((partition, next) -> both.put(partition, Math.min(next, applied.getOrDefault(partition, 0L))));
            committed = both;
        }
        Map<Integer, Long> read = readByPipelines(topic);
        List<Integer> partitions = admin.partitions(topic);
        Map<Integer, Long> earliest = admin.earliestOffsets(topic, partitions);
        Map<Integer, Long> latest = admin.endOffsets(topic, partitions);
        long cutoff = clock.millis() - stream.retention().orElse(DEFAULT_RETENTION).toMillis();
        Map<Integer, Long> byTime = admin.offsetsAt(topic, partitions, cutoff);
        Map<Integer, Long> sizes = stream.lifecycle().retentionSize().isPresent() ? admin.sizes(topic, partitions) : Map.of();
        Map<Integer, Long> delete = new HashMap<>();
        long behind = 0;
        for (int partition : partitions) {
            long first = earliest.get(partition);
            long end = latest.get(partition);
            long wanted = byTime.get(partition) < 0 ? end : byTime.get(partition); // no record at or after the cutoff: all are due
            Long size = sizes.get(partition);
            long limit = stream.lifecycle().retentionSize().orElse(Long.MAX_VALUE);
            if (size != null && size > limit && end > first) {
                // records are of about equal size: keep the newest limit/size of them
                long keep = (long) Math.floor((end - first) * ((double) limit / size));
                wanted = Math.max(wanted, end - keep);
            }
            long safe = Math.min(committed.getOrDefault(partition, 0L), read.getOrDefault(partition, Long.MAX_VALUE));
            long upTo = Math.min(wanted, safe);
            if (upTo > first) {
                delete.put(partition, upTo);
            }
            behind += Math.max(0, wanted - Math.max(safe, first));
        }
        if (!delete.isEmpty()) {
            admin.deleteRecordsBefore(topic, delete);
            long n = delete.entrySet().stream().mapToLong(e -> e.getValue() - earliest.get(e.getKey())).sum();
            deleted.computeIfAbsent(stream.name(), k -> new AtomicLong()).addAndGet(n);
            LOG.debug("Stream '{}': deleted {} record(s) past retention that raw.{} holds", stream.name(), n, stream.name());
        }
        overdue.computeIfAbsent(stream.name(), k -> new AtomicLong()).set(behind);
        if (behind == 0) {
            overdueSince.remove(stream.name());
            if (warned.remove(stream.name())) {
                LOG.info("Stream '{}': the lake caught up; retention applies again", stream.name());
            }
        } else {
            long since = overdueSince.computeIfAbsent(stream.name(), k -> clock.millis());
            if (clock.millis() - since >= ALARM_AFTER.toMillis() && warned.add(stream.name())) {
                LOG.warn("Stream '{}': {} record(s) are past the topic's retention but raw.{} has not committed them or a "
                        + "pipeline has not read them, so they are kept. Is the lake writer or a pipeline stuck or far behind? "
                        + "See watershed_lake_lag_offsets, `watershed pipelines` and the log.", stream.name(), behind,
                        stream.name());
            }
        }
    }

    /** Per partition of the topic, the lowest offset a pipeline's consumer group has committed. */
    private Map<Integer, Long> readByPipelines(String topic) {
        Map<Integer, Long> lowest = new HashMap<>();
        for (String group : readerGroups.get()) {
            admin.committedOffsets(group, topic).forEach((partition, offset) -> lowest.merge(partition, offset, Math::min));
        }
        return lowest;
    }

    private void register(String stream) {
        Gauge.builder("watershed.stream.retention.overdue.records", overdue,
                m -> m.containsKey(stream) ? m.get(stream).get() : 0).tag("stream", stream)
                .description("Records past the stream's retention that the lake has not committed; kept until it does")
                .register(meters);
        Gauge.builder("watershed.stream.retention.deleted.records", deleted,
                m -> m.containsKey(stream) ? m.get(stream).get() : 0).tag("stream", stream)
                .description("Records retention deleted from the stream's topic since the start (all committed to the lake)")
                .register(meters);
    }

    @Override
    public void close() {
        admin.close();
    }
}
