package io.watershed.stream;

import io.watershed.spi.BusConnection;
import io.watershed.spi.EventBus;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.StreamRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What the pipelines need from the rest of the platform.
 *
 * @param engine the Flink cluster the pipelines run on (shared with model builds; its owner closes it)
 * @param bus reports how far each pipeline's sources have read (status); null when only planning
 * @param connection how Flink's Kafka sources and the stream sinks reach the bus
 * @param catalogName the Iceberg catalog's name (Flink's catalog gets the same one, and is the current catalog)
 * @param catalogProperties the Iceberg catalog's properties (catalog-impl, uri, warehouse, ...)
 * @param functionJars the project's jars of user-defined functions ({@code functions/*.jar}), on every job's classpath
 * @param sinks the project's sinks by name, which pipelines write as {@code sinks.<name>}
 */
public record PipelineContext(FlinkEngine engine, EventBus bus, BusConnection connection, String catalogName,
        Map<String, String> catalogProperties, LakeCatalog lake, StreamRegistry streams, int defaultPartitions,
        Duration checkpointInterval, List<Path> functionJars, Duration idleTimeout, java.util.Optional<Path> checkpoints,
        io.watershed.spi.Leases leases, Map<String, io.watershed.spi.SinkSpec> sinks) {
    public PipelineContext {
        sinks = Map.copyOf(sinks);
    }

    /** A context for a project without sinks. */
    public PipelineContext(FlinkEngine engine, EventBus bus, BusConnection connection, String catalogName,
            Map<String, String> catalogProperties, LakeCatalog lake, StreamRegistry streams, int defaultPartitions,
            Duration checkpointInterval, List<Path> functionJars, Duration idleTimeout, java.util.Optional<Path> checkpoints,
            io.watershed.spi.Leases leases) {
        this(engine, bus, connection, catalogName, catalogProperties, lake, streams, defaultPartitions, checkpointInterval,
                functionJars, idleTimeout, checkpoints, leases, Map.of());
    }
}
