package io.watershed.lake;

import io.watershed.spi.BusConnection;
import io.watershed.spi.BusRecordKind;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** The Kafka consumer settings of the lake's writers: read-committed, assigned by hand, positions kept in Iceberg. */
final class LakeConsumers {
    private LakeConsumers() {}

    /** @param name the group and client id ({@code watershed-lake-<stream>}, {@code watershed-state-<stream>}) */
    static Properties properties(BusConnection connection, String name) {
        Properties p = connection.properties();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, name);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(64 << 20));
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 << 20));
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, name);
        return p;
    }

    /** The value of {@code record}'s last header {@code name}, or null: how {@link BusRecordKind} reads headers. */
    static java.util.function.Function<String, byte[]> headers(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> record) {
        return name -> {
            org.apache.kafka.common.header.Header header = record.headers().lastHeader(name);
            return header == null ? null : header.value() == null ? new byte[0] : header.value();
        };
    }

    /** What {@code record} is, by the bus's record format. */
    static BusRecordKind kind(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> record) {
        return BusRecordKind.of(record.value(), headers(record));
    }
}
