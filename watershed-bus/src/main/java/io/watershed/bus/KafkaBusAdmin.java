package io.watershed.bus;

import io.watershed.spi.BusAdmin;
import io.watershed.spi.EventBus;
import io.watershed.spi.WatershedException;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;

/** A {@link BusAdmin} on one Kafka {@link Admin}; each call waits up to the timeout it was opened with. */
final class KafkaBusAdmin implements BusAdmin {
    private final Admin admin;
    private final Duration timeout;
    private final boolean owned;

    /** An admin on a client of its own, closed with it. */
    KafkaBusAdmin(Admin admin, Duration timeout) {
        this(admin, timeout, true);
    }

    KafkaBusAdmin(Admin admin, Duration timeout, boolean owned) {
        this.admin = admin;
        this.timeout = timeout;
        this.owned = owned;
    }

    @Override
    public List<Integer> partitions(String topic) {
        TopicDescription description = await(admin.describeTopics(List.of(topic)).allTopicNames(), "describe topic '" + topic + "'")
                .get(topic);
        return description.partitions().stream().map(TopicPartitionInfo::partition).toList();
    }

    @Override
    public void turnOffBrokerRetention(String topic) {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        await(admin.incrementalAlterConfigs(Map.of(resource, List.of(
                new AlterConfigOp(new ConfigEntry(TopicConfig.RETENTION_MS_CONFIG, "-1"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry(TopicConfig.RETENTION_BYTES_CONFIG, "-1"), AlterConfigOp.OpType.SET))))
                .all(), "turn off the retention of topic '" + topic + "'");
    }

    @Override
    public Map<Integer, Long> earliestOffsets(String topic, Collection<Integer> partitions) {
        return offsets(topic, partitions, OffsetSpec.earliest());
    }

    @Override
    public Map<Integer, Long> endOffsets(String topic, Collection<Integer> partitions) {
        return offsets(topic, partitions, OffsetSpec.latest());
    }

    @Override
    public Map<Integer, Long> offsetsAt(String topic, Collection<Integer> partitions, long timestampMillis) {
        return offsets(topic, partitions, OffsetSpec.forTimestamp(timestampMillis));
    }

    private Map<Integer, Long> offsets(String topic, Collection<Integer> partitions, OffsetSpec spec) {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        partitions.forEach(p -> request.put(new TopicPartition(topic, p), spec));
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> answer =
                await(admin.listOffsets(request).all(), "list the offsets of topic '" + topic + "'");
        Map<Integer, Long> offsets = new HashMap<>();
        answer.forEach((tp, info) -> offsets.put(tp.partition(), info.offset()));
        return offsets;
    }

    @Override
    public Map<Integer, Long> sizes(String topic, Collection<Integer> partitions) {
        List<Integer> brokers = await(admin.describeCluster().nodes(), "list the bus's brokers").stream().map(Node::id).toList();
        Map<Integer, Map<String, LogDirDescription>> dirs =
                await(admin.describeLogDirs(brokers).allDescriptions(), "describe the bus's log directories");
        Map<Integer, Long> sizes = new HashMap<>();
        for (Map<String, LogDirDescription> broker : dirs.values()) {
            for (LogDirDescription dir : broker.values()) {
                for (int partition : partitions) {
                    ReplicaInfo replica = dir.replicaInfos().get(new TopicPartition(topic, partition));
                    if (replica != null) {
                        sizes.merge(partition, replica.size(), Math::max);
                    }
                }
            }
        }
        return sizes;
    }

    @Override
    public void deleteRecordsBefore(String topic, Map<Integer, Long> offsets) {
        Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
        offsets.forEach((partition, before) -> delete.put(new TopicPartition(topic, partition), RecordsToDelete.beforeOffset(before)));
        await(admin.deleteRecords(delete).all(), "delete records of topic '" + topic + "'");
    }

    @Override
    public Map<Integer, Long> committedOffsets(String group, String topic) {
        Map<Integer, Long> offsets = new HashMap<>();
        committed(group).forEach((tp, offset) -> {
            if (tp.topic().equals(topic)) {
                offsets.put(tp.partition(), offset);
            }
        });
        return offsets;
    }

    /**
     * How far {@code group} has read, over every partition it committed on: its offsets summed, and the records (read
     * committed) beyond them. Serves {@link EventBus#consumerGroupProgress}.
     */
    EventBus.GroupProgress groupProgress(String group) {
        Map<TopicPartition, Long> committed = committed(group);
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        committed.keySet().forEach(tp -> latest.put(tp, OffsetSpec.latest()));
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = await(admin.listOffsets(latest,
                new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all(), "read the offsets of consumer group '" + group + "'");
        long sum = 0;
        long lag = 0;
        for (Map.Entry<TopicPartition, Long> e : committed.entrySet()) {
            sum += e.getValue();
            ListOffsetsResult.ListOffsetsResultInfo end = ends.get(e.getKey());
            lag += end == null ? 0 : Math.max(0, end.offset() - e.getValue());
        }
        return new EventBus.GroupProgress(sum, lag);
    }

    /** The group's committed offset of each partition it committed on. */
    private Map<TopicPartition, Long> committed(String group) {
        Map<TopicPartition, OffsetAndMetadata> offsets = await(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata(),
                "read the offsets of consumer group '" + group + "'");
        Map<TopicPartition, Long> committed = new HashMap<>();
        offsets.forEach((tp, offset) -> {
            if (offset != null) {
                committed.put(tp, offset.offset());
            }
        });
        return committed;
    }

    /** Closes the admin client, unless it is the bus's own (see {@link KafkaEventBus}). */
    @Override
    public void close() {
        if (owned) {
            admin.close(Duration.ofSeconds(5));
        }
    }

    private <T> T await(KafkaFuture<T> future, String what) {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WatershedException.unavailable("Cannot " + what + ": interrupted", Duration.ofSeconds(1), e);
        } catch (ExecutionException | TimeoutException e) {
            throw WatershedException.unavailable("Cannot " + what + ": Kafka did not answer: " + e.getMessage(), Duration.ofSeconds(5), e);
        }
    }
}
