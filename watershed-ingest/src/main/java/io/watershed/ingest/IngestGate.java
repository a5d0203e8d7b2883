package io.watershed.ingest;

import io.watershed.spi.Settings;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.ToLongFunction;

/**
 * Whether a stream may take events now. Every way in asks before it writes to the bus: the HTTP API before it reads
 * a body, the other sources (Fluentd forward, file tail, CDC, JDBC import) before they publish a batch. It refuses,
 * with when to retry, while the data directory's disk has less than {@code ingest.min_free_disk} free, or while the
 * stream has more than {@code ingest.max_lake_lag} records in the bus that are not yet in its raw table: backpressure
 * instead of a backlog that only grows.
 */
public final class IngestGate {
    static final Duration DISK_FULL_RETRY = Duration.ofSeconds(30);
    static final Duration LAKE_BEHIND_RETRY = Duration.ofSeconds(5);

    /** Why a stream may not take events now: {@code disk_full} or {@code lake_behind} (the metrics' reason), and the error. */
    public record Refusal(String reason, WatershedException error) {}

    private final Path dataDirectory;
    private final long minFreeDiskBytes;
    private final long maxLakeLag;
    private final ToLongFunction<String> lakeLag;

    /**
     * @param lakeLag records of a stream in the bus but not yet in its raw table, or -1 when not known
     */
    public IngestGate(Path dataDirectory, Settings settings, ToLongFunction<String> lakeLag) {
        this.dataDirectory = dataDirectory;
        this.minFreeDiskBytes = settings.ingest().minFreeDisk();
        this.maxLakeLag = settings.ingest().maxLakeLag();
        this.lakeLag = lakeLag;
    }

    /** A gate that never refuses: for sources run without a platform. */
    public static IngestGate open() {
        return new IngestGate(null, 0, 0, s -> -1);
    }

    private IngestGate(Path dataDirectory, long minFreeDiskBytes, long maxLakeLag, ToLongFunction<String> lakeLag) {
        this.dataDirectory = dataDirectory;
        this.minFreeDiskBytes = minFreeDiskBytes;
        this.maxLakeLag = maxLakeLag;
        this.lakeLag = lakeLag;
    }

    /** Empty when the stream may take events now. */
    public Optional<Refusal> check(String stream) {
        if (dataDirectory != null && minFreeDiskBytes > 0) {
            long usable = dataDirectory.toFile().getUsableSpace();
            if (usable < minFreeDiskBytes) {
                return Optional.of(new Refusal("disk_full", WatershedException.unavailable("Cannot accept events: only " + usable
                        + " bytes are free in the data directory (ingest.min_free_disk is " + minFreeDiskBytes
                        + "); free space, then retry", DISK_FULL_RETRY, null)));
            }
        }
        long behind = maxLakeLag > 0 ? lakeLag.applyAsLong(stream) : -1;
        if (behind > maxLakeLag) {
            return Optional.of(new Refusal("lake_behind", WatershedException.unavailable("Cannot accept events for stream '" + stream
                    + "' now: " + behind + " of its records are in the bus but not yet in the lake (ingest.max_lake_lag is "
                    + maxLakeLag + "); the lake writer catches up first, retry after the delay (the server log says why it is "
                    + "behind)", LAKE_BEHIND_RETRY, null)));
        }
        return Optional.empty();
    }
}
