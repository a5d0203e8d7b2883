package io.watershed.spi;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * How every Kafka client of the platform reaches the bus: the bootstrap servers and, for an external cluster, its
 * security ({@code security.protocol}, SASL, TLS stores) as Kafka client properties. Built once by the platform, from
 * {@link Settings.Bus} or the embedded broker, and handed to every part that talks to Kafka; serializable, so Flink jobs
 * carry it to their operators. It also says how the topics the platform creates are replicated ({@link Placement}), so
 * that every part creating one (streams, the bus's own logs, a pipeline's commit records) places it alike.
 * {@link #toString()} never shows a secret.
 */
public record BusConnection(String bootstrapServers, Map<String, String> security, Placement placement) implements Serializable {
    private static final long serialVersionUID = 2L;

    /**
     * How a topic the platform creates is replicated: {@code replicationFactor} replicas and {@code min.insync.replicas};
     * 0 for either leaves it to the cluster's default.
     */
    public record Placement(int replicationFactor, int minInsyncReplicas) implements Serializable {
        private static final long serialVersionUID = 1L;
        /** The cluster's defaults for both (the embedded broker's: one replica). */
        public static final Placement CLUSTER_DEFAULTS = new Placement(0, 0);

        public Placement {
            if (replicationFactor < 0 || replicationFactor > Short.MAX_VALUE || minInsyncReplicas < 0) {
                throw new IllegalArgumentException("replication factor and min.insync.replicas are 0 (the cluster's default) or more");
            }
        }

        /** The replication factor to ask for, or empty for the cluster's {@code default.replication.factor}. */
        public java.util.Optional<Short> replicas() {
            return replicationFactor == 0 ? java.util.Optional.empty() : java.util.Optional.of((short) replicationFactor);
        }

        /** {@code configs} plus {@code min.insync.replicas} when it is set. */
        public Map<String, String> topicConfigs(Map<String, String> configs) {
            Map<String, String> all = new LinkedHashMap<>(configs);
            if (minInsyncReplicas > 0) {
                all.put("min.insync.replicas", String.valueOf(minInsyncReplicas));
            }
            return all;
        }
    }

    public BusConnection {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("a bus connection needs bootstrap servers");
        }
        security = Map.copyOf(security);
        placement = placement == null ? Placement.CLUSTER_DEFAULTS : placement;
    }

    public BusConnection(String bootstrapServers, Map<String, String> security) {
        this(bootstrapServers, security, Placement.CLUSTER_DEFAULTS);
    }

    /** A cluster reached without security settings (the embedded broker's own listener, a test broker). */
    public static BusConnection plain(String bootstrapServers) {
        return new BusConnection(bootstrapServers, Map.of());
    }

    /** The external cluster of {@code bus}, with its security settings and topic placement. */
    public static BusConnection external(Settings.Bus bus) {
        return new BusConnection(bus.bootstrapServers().orElseThrow(() -> new IllegalArgumentException("bus.bootstrap_servers is empty")),
                bus.clientSecurity(), bus.topicPlacement());
    }

    /** The properties every Kafka client of this bus starts from: {@code bootstrap.servers} and the security. */
    public Map<String, Object> clientProperties() {
        Map<String, Object> properties = new LinkedHashMap<>(security);
        properties.put("bootstrap.servers", bootstrapServers);
        return properties;
    }

    /** {@link #clientProperties()} as {@link Properties}, for clients configured that way. */
    public Properties properties() {
        Properties properties = new Properties();
        properties.putAll(clientProperties());
        return properties;
    }

    /** The same with {@code prefix} before each key, as Flink's Kafka connector takes them ({@code properties.}). */
    public Map<String, String> prefixed(String prefix) {
        Map<String, String> options = new TreeMap<>();
        clientProperties().forEach((key, value) -> options.put(prefix + key, String.valueOf(value)));
        return options;
    }

    @Override
    public String toString() {
        return "bus " + bootstrapServers + (security.isEmpty() ? "" : " (" + security.getOrDefault("security.protocol", "?") + ")")
                + (placement.equals(Placement.CLUSTER_DEFAULTS) ? "" : ", topics with " + placement.replicationFactor() + " replicas, "
                        + placement.minInsyncReplicas() + " in sync");
    }
}
