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
        ModelSettings models,
        UpkeepSettings upkeep,
        CollectSettings collect,
        SecuritySettings security) {

    /**
     * The locked-down surface ({@code http.tls_*}, {@code http.max_header}, {@code auth.*}, {@code bus.host},
     * {@code bus.plaintext}).
     *
     * @param tlsKeystore a PKCS#12 keystore with the HTTP server's key and certificate; empty serves plain HTTP
     * @param maxHeaderBytes largest request line plus headers; larger requests get 431
     * @param tokenRatePerSecond requests per second a token may send (a burst of twice that), unless it has its own limit
     * @param busHost the address the embedded broker's client listener binds
     * @param busPlaintext whether that listener takes unauthenticated plaintext clients instead of SASL/SCRAM
     */
    public record SecuritySettings(Optional<String> tlsKeystore, Secret tlsKeystorePassword, int maxHeaderBytes,
            int tokenRatePerSecond, String busHost, boolean busPlaintext) {
        public static SecuritySettings defaults() {
            return new SecuritySettings(Optional.empty(), Secret.of(""), 8192, 1000, "127.0.0.1", false);
        }
    }

    public Settings(String host, int port, long maxBodyBytes, boolean autoCreateStreams, int defaultPartitions,
            int maxInFlightRequests, long minFreeDiskBytes, Duration produceTimeout, Optional<String> bootstrapServers, int busPort,
            Duration commitInterval, long targetFileSizeBytes, Duration queryTimeout, int queryMaxRows, String queryMemoryLimit,
            boolean queryFreshTail, Duration sourceIdleTimeout, ModelSettings models, UpkeepSettings upkeep, CollectSettings collect) {
        this(host, port, maxBodyBytes, autoCreateStreams, defaultPartitions, maxInFlightRequests, minFreeDiskBytes, produceTimeout,
                bootstrapServers, busPort, commitInterval, targetFileSizeBytes, queryTimeout, queryMaxRows, queryMemoryLimit,
                queryFreshTail, sourceIdleTimeout, models, upkeep, collect, SecuritySettings.defaults());
    }

    /**
     * Collection besides the HTTP API ({@code ingest.forward_*}: the Fluentd forward listener), and how far behind the
     * bus the lake may fall before ingest pushes back ({@code ingest.max_lake_lag}).
     *
     * @param forwardHost address the forward listener binds; loopback by default
     * @param forwardPort its TCP (and UDP heartbeat) port; 0 picks a free one, -1 turns it off
     * @param forwardSharedKey when set, clients must pass Fluentd's shared-key handshake
     * @param maxLakeLag records a stream may have in the bus but not in its raw table before ingest of that stream
     *     answers 503 (backpressure from a lake writer that fell behind or stalled); 0 turns it off
     */
    public record CollectSettings(String forwardHost, int forwardPort, Secret forwardSharedKey, long maxLakeLag) {
        public static CollectSettings defaults() {
            return new CollectSettings("127.0.0.1", 24224, Secret.of(""), 5_000_000);
        }
    }

    /**
     * Lake upkeep ({@code lake.*} in watershed.yaml): compaction, snapshot expiry, orphan cleanup, retention.
     *
     * @param interval how often each table is looked at; zero turns automatic upkeep off (on demand still works)
     * @param compactionMinFiles small files in one partition that start its compaction
     * @param snapshotRetention snapshots replaced longer ago than this are expired (unless a reader holds them)
     * @param orphanDelay files no snapshot references are removed once they are older than this
     */
    public record UpkeepSettings(Duration interval, int compactionMinFiles, Duration snapshotRetention, Duration orphanDelay) {
        public static UpkeepSettings defaults() {
            return new UpkeepSettings(Duration.ofMinutes(1), 10, Duration.ofDays(3), Duration.ofDays(3));
        }
    }

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
                true, Duration.ofSeconds(10), ModelSettings.defaults(), UpkeepSettings.defaults(), CollectSettings.defaults(),
                SecuritySettings.defaults());
    }

    public Settings withPort(int newPort) {
        return new Settings(host, newPort, maxBodyBytes, autoCreateStreams, defaultPartitions, maxInFlightRequests,
                minFreeDiskBytes, produceTimeout, bootstrapServers, busPort, commitInterval, targetFileSizeBytes, queryTimeout,
                queryMaxRows, queryMemoryLimit, queryFreshTail, sourceIdleTimeout, models, upkeep, collect, security);
    }
}
