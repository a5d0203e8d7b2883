package io.watershed.ingest;

import io.watershed.ingest.forward.ForwardServer;
import io.watershed.ingest.jdbc.JdbcImportSource;
import io.watershed.spi.Settings;
import io.watershed.spi.SourceControl;
import io.watershed.spi.SourceStatus;
import io.watershed.spi.StreamSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The project's collectors besides the HTTP API, each a {@link Source} that {@link SourceFactory} chose by the kind
 * of its spec: the Fluentd forward listener, file tailers, jdbc imports, CDC engines and MQTT subscriptions. Each
 * publishes through the same {@link SourcePublisher}; this class starts them, reports them and closes them (in the
 * reverse order).
 */
public final class Sources implements SourceControl, AutoCloseable {
    private final List<Source> sources;

    private final io.watershed.spi.Leases leases;

    /**
     * Builds and starts the streams' sources; if one cannot start, those built are closed and the failure thrown. A jdbc
     * import runs on the one instance of the project that holds its lease {@code import:<source>}: its watermark is
     * shared ({@code metadata.url}), and two instances importing from it would import each row twice.
     */
    public Sources(Collection<StreamSpec> streams, Settings settings, SourcePublisher publisher, Path dataDirectory,
            io.watershed.spi.Leases leases) {
        this.leases = leases;
        this.sources = SourceFactory.create(streams, settings, publisher, dataDirectory);
        try {
            for (Source source : sources) {
                if (source instanceof JdbcImportSource jdbc) {
                    String lease = lease(jdbc.name());
                    jdbc.runOnlyWhile(() -> leases.holds(lease));
                    leases.claim(lease, new io.watershed.spi.Leases.Work() {
                        @Override
                        public void acquired(long epoch) {
                            jdbc.wakeUp(); // a run the last holder missed is due now
                        }

                        @Override
                        public void lost() {
                            // a run under way ends; the next one is the new holder's
                        }
                    });
                }
                source.start();
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The forward listener's port, unless it is off. */
    public Optional<Integer> forwardPort() {
        for (Source source : sources) {
            if (source instanceof ForwardServer forward) {
                return Optional.of(forward.port());
            }
        }
        return Optional.empty();
    }

    /** What each source reports, in the order they were built (the forward listener, files, jdbc imports, cdc, mqtt). */
    @Override
    public List<SourceStatus> statuses() {
        List<SourceStatus> statuses = new ArrayList<>(sources.size());
        for (Source source : sources) {
            statuses.add(source.status());
        }
        return statuses;
    }

    /** The lease of a jdbc import. */
    public static String lease(String source) {
        return "import:" + source;
    }

    @Override
    public boolean runImport(String name) {
        for (Source source : sources) {
            if (source instanceof JdbcImportSource jdbc && jdbc.name().equals(name)) {
                if (!leases.holds(lease(name))) {
                    String holder = leases.holders().stream().filter(h -> h.work().equals(lease(name)) && h.live())
                            .map(io.watershed.spi.Leases.Holder::instance).findFirst().orElse("another instance");
                    throw new io.watershed.spi.WatershedException(io.watershed.spi.ErrorCode.CONFLICT, "Cannot run import '"
                            + name + "' here: instance " + holder + " runs it (lease '" + lease(name) + "'); ask that "
                            + "instance, or wait until it stops and this one takes the import over");
                }
                jdbc.runNow();
                return true;
            }
        }
        return false;
    }

    /** Closes the sources in the reverse order of their start: MQTT, CDC, imports, files, then the forward listener. */
    @Override
    public void close() {
        for (int i = sources.size() - 1; i >= 0; i--) {
            sources.get(i).close();
            if (sources.get(i) instanceof JdbcImportSource jdbc) {
                leases.release(lease(jdbc.name())); // another instance takes the import over at once
            }
        }
    }
}
