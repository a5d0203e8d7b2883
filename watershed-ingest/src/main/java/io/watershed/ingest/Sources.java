package io.watershed.ingest;

import io.watershed.ingest.forward.ForwardServer;
import io.watershed.ingest.forward.TagRouter;
import io.watershed.ingest.tail.FileTailSource;
import io.watershed.spi.Settings;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.StreamSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The project's collectors besides the HTTP API: the Fluentd forward listener (one, routing tags to streams) and
 * one tailer per {@code type: file} source. Each publishes through the same {@link SourcePublisher}.
 */
public final class Sources implements AutoCloseable {
    /** How often a file source looks for new lines when it found none. */
    public static final Duration TAIL_POLL = Duration.ofMillis(250);

    private final Settings settings;
    private Optional<ForwardServer> forward = Optional.empty();
    private final Map<String, List<String>> forwardTags = new LinkedHashMap<>();
    private final List<FileTailSource> files = new ArrayList<>();
    private final List<io.watershed.ingest.jdbc.JdbcImportSource> imports = new ArrayList<>();
    private final List<io.watershed.ingest.cdc.CdcSource> cdc = new ArrayList<>();

    public Sources(Collection<StreamSpec> streams, Settings settings, SourcePublisher publisher, Path dataDirectory) {
        this.settings = settings;
        for (StreamSpec stream : streams) {
            for (SourceSpec source : stream.sources()) {
                if (source instanceof SourceSpec.Forward f) {
                    forwardTags.computeIfAbsent(stream.name(), s -> new ArrayList<>()).addAll(f.tags());
                }
            }
        }
        try {
            if (settings.ingest().forwardPort() >= 0) {
                forward = Optional.of(new ForwardServer(publisher, new TagRouter(streams, settings.ingest().autoCreateStreams()),
                        settings.ingest().autoCreateStreams(), settings.ingest()));
            }
            for (StreamSpec stream : streams) {
                int index = 0;
                long count = stream.sources().stream().filter(s -> s instanceof SourceSpec.FileTail).count();
                int importIndex = 0;
                long importCount = stream.sources().stream().filter(s -> s instanceof SourceSpec.Jdbc).count();
                for (SourceSpec source : stream.sources()) {
                    if (source instanceof SourceSpec.Jdbc jdbc) {
                        importIndex++;
                        String name = stream.name() + ".jdbc" + (importCount > 1 ? String.valueOf(importIndex) : "");
                        imports.add(new io.watershed.ingest.jdbc.JdbcImportSource(name, stream, jdbc, publisher,
                                dataDirectory.resolve("sources.db")).start());
                    }
                    if (source instanceof SourceSpec.FileTail tail) {
                        index++;
                        String name = stream.name() + ".file" + (count > 1 ? String.valueOf(index) : "");
                        files.add(new FileTailSource(name, stream, tail, publisher, dataDirectory.resolve("sources.db"), TAIL_POLL)
                                .start());
                    }
                }
            }
            // one Debezium engine per database connection (url and user), for all the tables declared on it
            Map<String, Map<SourceSpec.Cdc, StreamSpec>> connections = new LinkedHashMap<>();
            for (StreamSpec stream : streams) {
                for (SourceSpec source : stream.sources()) {
                    if (source instanceof SourceSpec.Cdc c) {
                        connections.computeIfAbsent(c.url() + "\u0000" + c.user(), k -> new LinkedHashMap<>()).put(c, stream);
                    }
                }
            }
            int connection = 0;
            for (Map<SourceSpec.Cdc, StreamSpec> tables : connections.values()) {
                String name = connections.size() == 1 ? "cdc" : "cdc" + (++connection);
                cdc.add(new io.watershed.ingest.cdc.CdcSource(name, tables, publisher, dataDirectory.resolve("cdc")).start());
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException(e.getMessage(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The forward listener's port, unless it is off. */
    public Optional<Integer> forwardPort() {
        return forward.map(ForwardServer::port);
    }

    /** What the API shows of every source; secrets masked. */
    public List<Map<String, Object>> describe() {
        List<Map<String, Object>> out = new ArrayList<>();
        forward.ifPresent(f -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", "forward");
            m.put("type", "forward");
            m.put("listen", settings.ingest().forwardHost() + ":" + f.port());
            m.put("shared_key", settings.ingest().forwardSharedKey().toString());
            m.put("streams", forwardTags);
            m.put("tags_create_streams", settings.ingest().autoCreateStreams());
            m.put("connections", f.connections());
            m.put("messages", f.messages());
            out.add(m);
        });
        for (FileTailSource source : files) {
            FileTailSource.Status s = source.status();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", s.name());
            m.put("type", "file");
            m.put("stream", s.stream());
            m.put("paths", s.paths());
            List<Map<String, Object>> fileList = new ArrayList<>();
            for (FileTailSource.FileStatus f : s.files()) {
                Map<String, Object> fm = new LinkedHashMap<>();
                fm.put("path", f.path());
                fm.put("offset", f.offset());
                fm.put("size", f.size());
                fm.put("following", f.following());
                fileList.add(fm);
            }
            m.put("files", fileList);
            m.put("lag_bytes", s.lagBytes());
            m.put("last_error", s.lastError().isEmpty() ? null : s.lastError());
            out.add(m);
        }
        for (io.watershed.ingest.jdbc.JdbcImportSource source : imports) {
            io.watershed.ingest.jdbc.JdbcImportSource.Status s = source.status();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", s.name());
            m.put("type", "jdbc");
            m.put("stream", s.stream());
            m.put("table", s.table());
            m.put("user", source.spec().user());
            m.put("password", source.spec().password().toString());
            m.put("mode", s.mode());
            m.put("watermark", s.watermark());
            m.put("last_run", s.lastRunAt());
            m.put("last_run_rows", s.lastRunRows());
            m.put("next_run", s.nextRunAt());
            m.put("running", s.running());
            m.put("last_error", s.lastError());
            out.add(m);
        }
        for (io.watershed.ingest.cdc.CdcSource source : cdc) {
            io.watershed.ingest.cdc.CdcSource.Status s = source.status();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", s.name());
            m.put("type", "cdc");
            m.put("database", s.database());
            m.put("user", s.user());
            m.put("password", s.password());
            m.put("tables", s.tables());
            m.put("running", s.running());
            m.put("events", s.events());
            m.put("last_event", s.lastEventAt());
            m.put("last_error", s.lastError());
            out.add(m);
        }
        return out;
    }

    /** Starts the jdbc source's import now; false if there is no such source. */
    public boolean runImport(String name) {
        for (io.watershed.ingest.jdbc.JdbcImportSource source : imports) {
            if (source.name().equals(name)) {
                source.runNow();
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        for (io.watershed.ingest.cdc.CdcSource c : cdc) {
            c.close();
        }
        for (io.watershed.ingest.jdbc.JdbcImportSource i : imports) {
            i.close();
        }
        for (FileTailSource f : files) {
            f.close();
        }
        forward.ifPresent(ForwardServer::close);
    }
}
