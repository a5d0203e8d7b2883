package io.watershed.bus;

import io.watershed.spi.BusConnection;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Builds the bus's Kafka clients from a {@link BusConnection}, so each starts from its bootstrap servers and security
 * (SASL, TLS) and adds only what its use needs.
 */
public final class BusClients {
    private BusClients() {}

    /** The connection's properties, a client id, and {@code overrides} (timeouts and the like). */
    public static Properties properties(BusConnection connection, String clientId, Map<String, ?> overrides) {
        Properties p = connection.properties();
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
        p.putAll(overrides);
        return p;
    }

    /** A consumer of raw records (keys and values as bytes), assigned by hand: no offsets are committed for it. */
    public static KafkaConsumer<byte[], byte[]> consumer(BusConnection connection, String clientId, Map<String, ?> overrides) {
        Properties p = properties(connection, clientId, overrides);
        p.putIfAbsent(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    public static Admin admin(BusConnection connection, String clientId, Map<String, ?> overrides) {
        return Admin.create(properties(connection, clientId, overrides));
    }

    /**
     * A topic the platform creates, replicated as the connection's {@link BusConnection.Placement} says: every topic of
     * the platform (streams, its transaction and key logs) is created through here.
     */
    public static NewTopic topic(BusConnection connection, String name, int partitions, Map<String, String> configs) {
        return new NewTopic(name, java.util.Optional.of(partitions), connection.placement().replicas())
                .configs(connection.placement().topicConfigs(configs));
    }
}
