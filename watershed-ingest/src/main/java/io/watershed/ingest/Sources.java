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
 * of its spec: the Fluentd forward listener, file tailers, jdbc imports and CDC engines. Each publishes through the
 * same {@link SourcePublisher}; this class starts them, reports them and closes them (in the reverse order).
 */
public final class Sources implements SourceControl, AutoCloseable {
    private final List<Source> sources;

    /** Builds and starts the streams' sources; if one cannot start, those built are closed and the failure thrown. */
    public Sources(Collection<StreamSpec> streams, Settings settings, SourcePublisher publisher, Path dataDirectory) {
        this.sources = SourceFactory.create(streams, settings, publisher, dataDirectory);
        try {
            for (Source source : sources) {
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

    /** What each source reports, in the order they were built (the forward listener, files, jdbc imports, cdc). */
    @Override
    public List<SourceStatus> statuses() {
        List<SourceStatus> statuses = new ArrayList<>(sources.size());
        for (Source source : sources) {
            statuses.add(source.status());
        }
        return statuses;
    }

    @Override
    public boolean runImport(String name) {
        for (Source source : sources) {
            if (source instanceof JdbcImportSource jdbc && jdbc.name().equals(name)) {
                jdbc.runNow();
                return true;
            }
        }
        return false;
    }

    /** Closes the sources in the reverse order of their start: CDC, imports, files, then the forward listener. */
    @Override
    public void close() {
        for (int i = sources.size() - 1; i >= 0; i--) {
            sources.get(i).close();
        }
    }
}
