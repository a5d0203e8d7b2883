package io.watershed.spi;

import java.time.Duration;
import java.util.Optional;

/**
 * Platform settings resolved from {@code watershed.yaml} (after the profile and {@code ${VAR}}
 * substitution). Immutable; every field has a documented default in {@code docs/configuration.md}.
 */
public record Settings(
        String host,
        int port,
        long maxBodyBytes,
        boolean autoCreateStreams,
        int defaultPartitions,
        int maxInFlightRequests,
        long minFreeDiskBytes,
        Duration produceTimeout,
        Optional<String> bootstrapServers,
        int busPort,
        Duration commitInterval,
        long targetFileSizeBytes,
        Duration queryTimeout,
        int queryMaxRows,
        String queryMemoryLimit,
        boolean queryFreshTail,
        Duration sourceIdleTimeout) {

    public static Settings defaults() {
        return new Settings("127.0.0.1", 7070, 16L << 20, true, 2, 64, 256L << 20, Duration.ofSeconds(30),
                Optional.empty(), 9092, Duration.ofSeconds(5), 128L << 20, Duration.ofSeconds(30), 10_000, "1GB",
                true, Duration.ofSeconds(10));
    }

    public Settings withPort(int newPort) {
        return new Settings(host, newPort, maxBodyBytes, autoCreateStreams, defaultPartitions, maxInFlightRequests,
                minFreeDiskBytes, produceTimeout, bootstrapServers, busPort, commitInterval, targetFileSizeBytes, queryTimeout,
                queryMaxRows, queryMemoryLimit, queryFreshTail, sourceIdleTimeout);
    }
}
