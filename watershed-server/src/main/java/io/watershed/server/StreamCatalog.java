package io.watershed.server;

import io.watershed.lake.RawLakeWriter;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamRegistry;
import io.watershed.spi.StreamSpec;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The platform's streams: those declared in the project plus those created on first use. Making a
 * stream available means creating its topic and starting its lake writer, in that order.
 */
final class StreamCatalog implements StreamRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(StreamCatalog.class);

    private final Map<String, StreamSpec> streams = new ConcurrentHashMap<>();
    private final EventBus bus;
    private final RawLakeWriter lakeWriter;
    private final int defaultPartitions;

    StreamCatalog(EventBus bus, RawLakeWriter lakeWriter, int defaultPartitions) {
        this.bus = bus;
        this.lakeWriter = lakeWriter;
        this.defaultPartitions = defaultPartitions;
    }

    void open(StreamSpec stream) {
        openAll(List.of(stream));
    }

    /** Creates the topics (in one request), then starts the lake writers. */
    void openAll(Collection<StreamSpec> specs) {
        bus.ensureTopics(specs);
        for (StreamSpec stream : specs) {
            lakeWriter.start(stream);
            streams.put(stream.name(), stream);
        }
    }

    @Override
    public Optional<StreamSpec> resolve(String name, boolean createIfMissing) {
        if (name.startsWith(AuditLog.RESERVED_PREFIX)) {
            throw new io.watershed.spi.WatershedException(io.watershed.spi.ErrorCode.FORBIDDEN, "Cannot write to stream '" + name
                    + "': streams named " + AuditLog.RESERVED_PREFIX + "* are written by the platform only");
        }
        StreamSpec known = streams.get(name);
        if (known != null || !createIfMissing) {
            return Optional.ofNullable(known);
        }
        synchronized (this) {
            known = streams.get(name);
            if (known == null) {
                known = StreamSpec.inferred(name, defaultPartitions);
                open(known);
                LOG.info("Created stream '{}' on first use ({} partitions, schema inferred); declare it in streams/{}.yaml to "
                        + "pin its settings", name, defaultPartitions, name);
            }
            return Optional.of(known);
        }
    }

    @Override
    public Collection<StreamSpec> streams() {
        return List.copyOf(streams.values());
    }

    /** Each stream's raw table and its dead-letter table. */
    List<String> rawTables() {
        List<String> tables = new java.util.ArrayList<>();
        for (StreamSpec s : streams()) {
            tables.add(s.rawTable());
            tables.add(s.rawTable() + "__dlq");
        }
        return tables;
    }
}
