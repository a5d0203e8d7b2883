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
        Duration sourceIdleTimeout,
        ModelSettings models) {

    /**
     * Defaults for batch models ({@code models:} in watershed.yaml); a model's own settings win.
     *
     * @param maxConcurrentBuilds builds that run at once, over all runs
     * @param namespace the lake namespace of model tables
     */
    public record ModelSettings(int maxConcurrentBuilds, Duration timeout, int retries, Duration retryDelay, boolean catchup,
            String namespace) {
        public static ModelSettings defaults() {
            return new ModelSettings(2, Duration.ofHours(1), 1, Duration.ofSeconds(30), false, "models");
        }
    }

    public static Settings defaults() {
        return new Settings("127.0.0.1", 7070, 16L << 20, true, 2, 64, 256L << 20, Duration.ofSeconds(30),
                Optional.empty(), 9092, Duration.ofSeconds(5), 128L << 20, Duration.ofSeconds(30), 10_000, "1GB",
                true, Duration.ofSeconds(10), ModelSettings.defaults());
    }

    public Settings withPort(int newPort) {
        return new Settings(host, newPort, maxBodyBytes, autoCreateStreams, defaultPartitions, maxInFlightRequests,
                minFreeDiskBytes, produceTimeout, bootstrapServers, busPort, commitInterval, targetFileSizeBytes, queryTimeout,
                queryMaxRows, queryMemoryLimit, queryFreshTail, sourceIdleTimeout, models);
    }
}
