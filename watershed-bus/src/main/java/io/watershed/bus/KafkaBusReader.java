package io.watershed.bus;

import io.watershed.spi.BusConnection;
import io.watershed.spi.BusPartition;
import io.watershed.spi.BusReader;
import io.watershed.spi.BusRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;

/**
 * A {@link BusReader} on one {@link KafkaConsumer}: read-committed, assigned by hand, no automatic commits. Each call is
 * the consumer's own; a {@link WakeupException} becomes {@link BusReader.WokenUp}, records become {@link BusRecord}s.
 */
final class KafkaBusReader implements BusReader {
    private final KafkaConsumer<byte[], byte[]> consumer;

    private KafkaBusReader(KafkaConsumer<byte[], byte[]> consumer) {
        this.consumer = consumer;
    }

    static KafkaBusReader open(BusConnection connection, String name, Pace pace) {
        Map<String, Object> overrides = new LinkedHashMap<>();
        overrides.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        overrides.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        overrides.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        overrides.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        switch (pace) {
            case BULK -> {
                overrides.put(ConsumerConfig.GROUP_ID_CONFIG, name);
                overrides.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(64 << 20));
                overrides.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 << 20));
            }
            case PROMPT -> overrides.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "50");
        }
        return new KafkaBusReader(BusClients.consumer(connection, name, overrides));
    }

    @Override
    public List<Integer> partitions(String topic, Duration timeout) {
        List<PartitionInfo> infos = woken(() -> consumer.partitionsFor(topic, timeout));
        return infos.stream().map(PartitionInfo::partition).toList();
    }

    @Override
    public void assign(Collection<BusPartition> partitions) {
        consumer.assign(kafka(partitions));
    }

    @Override
    public Set<BusPartition> assignment() {
        Set<BusPartition> assigned = new HashSet<>();
        consumer.assignment().forEach(tp -> assigned.add(bus(tp)));
        return assigned;
    }

    @Override
    public Map<BusPartition, Long> beginningOffsets(Collection<BusPartition> partitions) {
        return bus(woken(() -> consumer.beginningOffsets(kafka(partitions))));
    }

    @Override
    public Map<BusPartition, Long> endOffsets(Collection<BusPartition> partitions, Duration timeout) {
        return bus(woken(() -> consumer.endOffsets(kafka(partitions), timeout)));
    }

    @Override
    public void seek(BusPartition partition, long offset) {
        consumer.seek(kafka(partition), offset);
    }

    @Override
    public long position(BusPartition partition) {
        return woken(() -> consumer.position(kafka(partition)));
    }

    @Override
    public void pause(Collection<BusPartition> partitions) {
        consumer.pause(kafka(partitions));
    }

    @Override
    public void resume(Collection<BusPartition> partitions) {
        consumer.resume(kafka(partitions));
    }

    @Override
    public List<BusRecord> poll(Duration timeout) {
        List<BusRecord> records = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : woken(() -> consumer.poll(timeout))) {
            records.add(new BusRecord(record.topic(), record.partition(), record.offset(), record.key(), record.value(),
                    record.timestamp(), headers(record)));
        }
        return records;
    }

    @Override
    public void recordProgress(Map<BusPartition, Long> next, Consumer<Exception> onFailure) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        next.forEach((partition, offset) -> offsets.put(kafka(partition), new OffsetAndMetadata(offset)));
        consumer.commitAsync(offsets, (committed, error) -> {
            if (error != null) {
                onFailure.accept(error);
            }
        });
    }

    @Override
    public void wakeup() {
        consumer.wakeup();
    }

    @Override
    public void close(Duration timeout) {
        consumer.close(timeout);
    }

    @Override
    public void close() {
        consumer.close();
    }

    /** The last value of each header name; a header without a value as an empty array. */
    private static Map<String, byte[]> headers(ConsumerRecord<byte[], byte[]> record) {
        Header[] all = record.headers().toArray();
        if (all.length == 0) {
            return Map.of();
        }
        Map<String, byte[]> headers = new HashMap<>();
        for (Header header : all) {
            headers.put(header.key(), header.value() == null ? new byte[0] : header.value());
        }
        return headers;
    }

    private static <T> T woken(Supplier<T> call) {
        try {
            return call.get();
        } catch (WakeupException e) {
            throw new WokenUp(e);
        }
    }

    private static TopicPartition kafka(BusPartition partition) {
        return new TopicPartition(partition.topic(), partition.partition());
    }

    private static List<TopicPartition> kafka(Collection<BusPartition> partitions) {
        List<TopicPartition> out = new ArrayList<>(partitions.size());
        partitions.forEach(p -> out.add(kafka(p)));
        return out;
    }

    private static BusPartition bus(TopicPartition tp) {
        return new BusPartition(tp.topic(), tp.partition());
    }

    private static Map<BusPartition, Long> bus(Map<TopicPartition, Long> offsets) {
        Map<BusPartition, Long> out = new HashMap<>();
        offsets.forEach((tp, offset) -> out.put(bus(tp), offset));
        return out;
    }
}
