package io.watershed.lake;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.watershed.spi.StreamSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps each stream's topic only as long as it is needed. Kafka's own retention deletes by age or size
 * whether or not the lake has committed the records, so it is turned off on stream topics
 * ({@code retention.ms = -1}, {@code retention.bytes = -1}) and applied here instead: records older than the
 * stream's {@code retention} (default 7 days), or beyond its {@code retention_size} per partition, are deleted
 * with {@code deleteRecords} — but never past the offsets the raw table's current snapshot has committed, nor past
 * the offsets a pipeline reading the stream has committed (its consumer group's, which Flink commits at each
 * checkpoint). Records that are due but not yet committed stay, are counted in
 * {@code watershed_stream_retention_overdue_records} and logged: the alarm that the lake writer or a pipeline is behind.
 */
public final class TopicRetention implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TopicRetention.class);
    /** Retention of a stream that declares none: Kafka's default. */
    public static final Duration DEFAULT_RETENTION = Duration.ofDays(7);
    private static final long TIMEOUT_SECONDS = 30;

    private final Admin admin;
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
    public TopicRetention(io.watershed.spi.BusConnection connection, IcebergLake lake, Supplier<Collection<StreamSpec>> streams,
            Supplier<Collection<String>> readerGroups, MeterRegistry meters, Clock clock) {
        Properties p = connection.properties();
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "watershed-retention");
        this.admin = Admin.create(p);
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
        try {
            if (!configured.contains(topic)) {
                ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
                admin.incrementalAlterConfigs(Map.of(resource, List.of(
                        new AlterConfigOp(new ConfigEntry(TopicConfig.RETENTION_MS_CONFIG, "-1"), AlterConfigOp.OpType.SET),
                        new AlterConfigOp(new ConfigEntry(TopicConfig.RETENTION_BYTES_CONFIG, "-1"), AlterConfigOp.OpType.SET))))
                        .all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
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
            TopicDescription description = admin.describeTopics(List.of(topic)).allTopicNames().get(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                    .get(topic);
            List<TopicPartition> partitions = new ArrayList<>();
            for (TopicPartitionInfo info : description.partitions()) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            Map<TopicPartition, Long> earliest = offsets(partitions, OffsetSpec.earliest());
            Map<TopicPartition, Long> latest = offsets(partitions, OffsetSpec.latest());
            long cutoff = clock.millis() - stream.retention().orElse(DEFAULT_RETENTION).toMillis();
            Map<TopicPartition, Long> byTime = offsets(partitions, OffsetSpec.forTimestamp(cutoff));
            Map<TopicPartition, Long> sizes = stream.lifecycle().retentionSize().isPresent() ? sizes(partitions) : Map.of();
            Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
            long behind = 0;
            for (TopicPartition tp : partitions) {
                long first = earliest.get(tp);
                long end = latest.get(tp);
                long wanted = byTime.get(tp) < 0 ? end : byTime.get(tp); // no record at or after the cutoff: all are due
                Long size = sizes.get(tp);
                long limit = stream.lifecycle().retentionSize().orElse(Long.MAX_VALUE);
                if (size != null && size > limit && end > first) {
                    // records are of about equal size: keep the newest limit/size of them
                    long keep = (long) Math.floor((end - first) * ((double) limit / size));
                    wanted = Math.max(wanted, end - keep);
                }
                long safe = Math.min(committed.getOrDefault(tp.partition(), 0L), read.getOrDefault(tp.partition(), Long.MAX_VALUE));
                long upTo = Math.min(wanted, safe);
                if (upTo > first) {
                    delete.put(tp, RecordsToDelete.beforeOffset(upTo));
                }
                behind += Math.max(0, wanted - Math.max(safe, first));
            }
            if (!delete.isEmpty()) {
                admin.deleteRecords(delete).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                long n = delete.entrySet().stream().mapToLong(e -> e.getValue().beforeOffset() - earliest.get(e.getKey())).sum();
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
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Kafka did not answer: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Per partition of the topic, the lowest offset a pipeline's consumer group has committed. */
    private Map<Integer, Long> readByPipelines(String topic) throws ExecutionException, InterruptedException, TimeoutException {
        Map<Integer, Long> lowest = new HashMap<>();
        for (String group : readerGroups.get()) {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            offsets.forEach((tp, offset) -> {
                if (tp.topic().equals(topic) && offset != null) {
                    lowest.merge(tp.partition(), offset.offset(), Math::min);
                }
            });
        }
        return lowest;
    }

    private Map<TopicPartition, Long> offsets(List<TopicPartition> partitions, OffsetSpec spec)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        partitions.forEach(tp -> request.put(tp, spec));
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> answer =
                admin.listOffsets(request).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        Map<TopicPartition, Long> offsets = new HashMap<>();
        answer.forEach((tp, info) -> offsets.put(tp, info.offset()));
        return offsets;
    }

    /** Bytes each partition's leader replica holds on disk. */
    private Map<TopicPartition, Long> sizes(List<TopicPartition> partitions)
            throws ExecutionException, InterruptedException, TimeoutException {
        List<Integer> brokers = admin.describeCluster().nodes().get(TIMEOUT_SECONDS, TimeUnit.SECONDS).stream().map(Node::id).toList();
        Map<TopicPartition, Long> sizes = new HashMap<>();
        Map<Integer, Map<String, LogDirDescription>> dirs =
                admin.describeLogDirs(brokers).allDescriptions().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        for (Map<String, LogDirDescription> broker : dirs.values()) {
            for (LogDirDescription dir : broker.values()) {
                for (TopicPartition tp : partitions) {
                    ReplicaInfo replica = dir.replicaInfos().get(tp);
                    if (replica != null) {
                        sizes.merge(tp, replica.size(), Math::max);
                    }
                }
            }
        }
        return sizes;
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
        admin.close(Duration.ofSeconds(5));
    }
}
