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
 * carry it to their operators. {@link #toString()} never shows a secret.
 */
public record BusConnection(String bootstrapServers, Map<String, String> security) implements Serializable {
    private static final long serialVersionUID = 1L;

    public BusConnection {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("a bus connection needs bootstrap servers");
        }
        security = Map.copyOf(security);
    }

    /** A cluster reached without security settings (the embedded broker's own listener, a test broker). */
    public static BusConnection plain(String bootstrapServers) {
        return new BusConnection(bootstrapServers, Map.of());
    }

    /** The external cluster of {@code bus}, with its security settings. */
    public static BusConnection external(Settings.Bus bus) {
        return new BusConnection(bus.bootstrapServers().orElseThrow(() -> new IllegalArgumentException("bus.bootstrap_servers is empty")),
                bus.clientSecurity());
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
        return "bus " + bootstrapServers + (security.isEmpty() ? "" : " (" + security.getOrDefault("security.protocol", "?") + ")");
    }
}
