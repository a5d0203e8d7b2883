package io.watershed.ingest;

import io.watershed.ingest.cdc.CdcSource;
import io.watershed.ingest.forward.ForwardServer;
import io.watershed.ingest.forward.TagRouter;
import io.watershed.ingest.jdbc.JdbcImportSource;
import io.watershed.ingest.mqtt.MqttSource;
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

/**
 * Builds the {@link Source}s the project declares, choosing by the kind of each {@link SourceSpec}: one tailer per
 * {@code file} source and one import per {@code jdbc} source (named {@code <stream>.file}, {@code <stream>.jdbc},
 * numbered when a stream has several), one Debezium engine per database connection (url and user) for all the
 * {@code cdc} tables declared on it, and the one forward listener, which serves every stream's tags and runs
 * unless {@code ingest.forward_port} is -1; one subscription per {@code mqtt} source ({@code <stream>.mqtt[N]}). The
 * sources are constructed, not started.
 */
final class SourceFactory implements SourceSpec.Cases<Void> {
    /** How often a file source looks for new lines when it found none. */
    static final Duration TAIL_POLL = Duration.ofMillis(250);

    private final SourcePublisher publisher;
    private final Path dataDirectory;
    private final io.watershed.spi.StateDatabase state;
    private final Map<String, List<String>> forwardTags = new LinkedHashMap<>();
    private final List<Source> forward = new ArrayList<>();
    private final List<Source> files = new ArrayList<>();
    private final List<Source> imports = new ArrayList<>();
    private final List<Source> cdc = new ArrayList<>();
    private final List<Source> subscriptions = new ArrayList<>();
    private final Map<String, Map<SourceSpec.Cdc, StreamSpec>> cdcConnections = new LinkedHashMap<>();
    private StreamSpec stream;
    private int fileCount;
    private int fileIndex;
    private int importCount;
    private int importIndex;
    private int mqttCount;
    private int mqttIndex;

    private SourceFactory(SourcePublisher publisher, Path dataDirectory, io.watershed.spi.StateDatabase state) {
        this.state = state;
        this.publisher = publisher;
        this.dataDirectory = dataDirectory;
    }

    /**
     * The sources of these streams: the forward listener first, then the file, jdbc, cdc and mqtt sources.
     *
     * @throws UncheckedIOException the forward port cannot be bound; whatever was built is closed
     */
    static List<Source> create(Collection<StreamSpec> streams, Settings settings, SourcePublisher publisher, Path dataDirectory) {
        // an import's watermark may be shared by the instances (metadata.url); a tailed file's offsets are this machine's
        SourceFactory factory = new SourceFactory(publisher, dataDirectory, io.watershed.spi.StateDatabase.of(settings.metadata(),
                dataDirectory));
        try {
            return factory.build(streams, settings);
        } catch (RuntimeException e) {
            List<Source> built = factory.all();
            for (int i = built.size() - 1; i >= 0; i--) {
                built.get(i).close();
            }
            throw e;
        }
    }

    private List<Source> build(Collection<StreamSpec> streams, Settings settings) {
        for (StreamSpec s : streams) {
            stream = s;
            fileCount = (int) s.sources().stream().filter(source -> source instanceof SourceSpec.FileTail).count();
            importCount = (int) s.sources().stream().filter(source -> source instanceof SourceSpec.Jdbc).count();
            mqttCount = (int) s.sources().stream().filter(source -> source instanceof SourceSpec.Mqtt).count();
            fileIndex = 0;
            importIndex = 0;
            mqttIndex = 0;
            for (SourceSpec source : s.sources()) {
                source.match(this);
            }
        }
        if (settings.ingest().forwardPort() >= 0) {
            try {
                forward.add(new ForwardServer(publisher, new TagRouter(streams, settings.ingest().autoCreateStreams()), forwardTags,
                        settings.ingest()));
            } catch (IOException e) {
                throw new UncheckedIOException(e.getMessage(), e);
            }
        }
        int connection = 0;
        for (Map<SourceSpec.Cdc, StreamSpec> tables : cdcConnections.values()) {
            String name = cdcConnections.size() == 1 ? "cdc" : "cdc" + (++connection);
            cdc.add(new CdcSource(name, tables, publisher, dataDirectory.resolve("cdc")));
        }
        return all();
    }

    private List<Source> all() {
        List<Source> all = new ArrayList<>(forward);
        all.addAll(files);
        all.addAll(imports);
        all.addAll(cdc);
        all.addAll(subscriptions);
        return List.copyOf(all);
    }

    @Override
    public Void forward(SourceSpec.Forward spec) {
        forwardTags.computeIfAbsent(stream.name(), name -> new ArrayList<>()).addAll(spec.tags()); // one listener for all streams
        return null;
    }

    @Override
    public Void file(SourceSpec.FileTail spec) {
        String name = stream.name() + ".file" + (fileCount > 1 ? String.valueOf(++fileIndex) : "");
        files.add(new FileTailSource(name, stream, spec, publisher, dataDirectory.resolve("sources.db"), TAIL_POLL));
        return null;
    }

    @Override
    public Void jdbc(SourceSpec.Jdbc spec) {
        String name = stream.name() + ".jdbc" + (importCount > 1 ? String.valueOf(++importIndex) : "");
        imports.add(new JdbcImportSource(name, stream, spec, publisher, state));
        return null;
    }

    @Override
    public Void cdc(SourceSpec.Cdc spec) {
        cdcConnections.computeIfAbsent(spec.url() + "\u0000" + spec.user(), k -> new LinkedHashMap<>()).put(spec, stream);
        return null;
    }

    @Override
    public Void mqtt(SourceSpec.Mqtt spec) {
        String name = stream.name() + ".mqtt" + (mqttCount > 1 ? String.valueOf(++mqttIndex) : "");
        subscriptions.add(new MqttSource(name, stream, spec, publisher, dataDirectory.resolve("mqtt")));
        return null;
    }
}
