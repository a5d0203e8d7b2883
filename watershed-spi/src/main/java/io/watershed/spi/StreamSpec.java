package io.watershed.spi;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A declared (or created-on-first-use) event stream. Its Kafka topic has the stream's name; its raw
 * lake table is {@code raw.<name>}.
 *
 * @param name stream name: lowercase letters, digits and single underscores, starting with a letter, at most 63
 * @param partitions Kafka partitions of the stream's topic
 * @param key optional field whose value keys the Kafka record (same key, same partition)
 * @param eventTime optional field holding the event time
 * @param lateness how late an event may arrive after a later one and still count in its event-time window (the
 *        watermark's delay in pipelines)
 * @param retention how long Kafka keeps the stream's records; empty means the bus default
 * @param fields declared field types (may be empty: types are inferred)
 * @param lifecycle how long the lake keeps what the stream lands, and how big its files grow
 * @param sources where events come from besides the HTTP API (Fluentd forward, file tail)
 * @param search the stream's full-text search index, when it asks for one
 */
public record StreamSpec(
        String name,
        int partitions,
        Optional<String> key,
        Optional<String> eventTime,
        Duration lateness,
        Optional<Duration> retention,
        Map<String, String> fields,
        Lifecycle lifecycle,
        java.util.List<SourceSpec> sources,
        Optional<SearchSpec> search) {

    /**
     * The stream's data cycle beyond the bus's time retention.
     *
     * @param retentionSize bytes per Kafka partition kept at most (oldest records go first, once the lake committed them)
     * @param lakeRetention days of {@code raw.<stream>} kept, by whole {@code _ingested_at} day partitions
     * @param dlqRetention days of {@code raw.<stream>__dlq} kept
     * @param targetFileSize compaction's target file size for the stream's tables; empty: {@code lake.target_file_size}
     */
    public record Lifecycle(Optional<Long> retentionSize, Optional<Duration> lakeRetention, Optional<Duration> dlqRetention,
            Optional<Long> targetFileSize) {
        public static final Lifecycle NONE = new Lifecycle(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }

    public StreamSpec(String name, int partitions, Optional<String> key, Optional<String> eventTime, Duration lateness,
            Optional<Duration> retention, Map<String, String> fields) {
        this(name, partitions, key, eventTime, lateness, retention, fields, Lifecycle.NONE);
    }

    public StreamSpec(String name, int partitions, Optional<String> key, Optional<String> eventTime, Duration lateness,
            Optional<Duration> retention, Map<String, String> fields, Lifecycle lifecycle) {
        this(name, partitions, key, eventTime, lateness, retention, fields, lifecycle, java.util.List.of());
    }

    public StreamSpec(String name, int partitions, Optional<String> key, Optional<String> eventTime, Duration lateness,
            Optional<Duration> retention, Map<String, String> fields, Lifecycle lifecycle, java.util.List<SourceSpec> sources) {
        this(name, partitions, key, eventTime, lateness, retention, fields, lifecycle, sources, Optional.empty());
    }

    /** Lowercase words joined by single underscores; {@code __} is reserved ({@code raw.<stream>__dlq}). */
    public static final Pattern NAME = Pattern.compile("(?=.{1,63}$)[a-z][a-z0-9]*(_[a-z0-9]+)*");
    public static final String NAME_RULE = "lowercase letters, digits and single underscores, starting with a letter, "
            + "at most 63 characters";
    /** Columns every raw table has; events may not use these field names. */
    public static final java.util.Set<String> RESERVED_FIELDS = java.util.Set.of("_partition", "_offset", "_ingested_at");

    /** Lateness when a stream declares none. */
    public static final Duration DEFAULT_LATENESS = Duration.ofSeconds(5);

    public StreamSpec {
        if (!NAME.matcher(name).matches()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT,
                    "Cannot use stream name '" + name + "': use " + NAME_RULE);
        }
        if (partitions < 1) {
            throw new WatershedException(ErrorCode.INVALID_INPUT,
                    "Cannot create stream '" + name + "': partitions must be at least 1, got " + partitions);
        }
        fields = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        lifecycle = lifecycle == null ? Lifecycle.NONE : lifecycle;
        sources = sources == null ? java.util.List.of() : java.util.List.copyOf(sources);
        search = search == null ? Optional.empty() : search;
    }

    /** A stream created on first use: inferred schema, default partitions. */
    public static StreamSpec inferred(String name, int partitions) {
        return new StreamSpec(name, partitions, Optional.empty(), Optional.empty(), DEFAULT_LATENESS, Optional.empty(), Map.of());
    }

    public String topic() {
        return name;
    }

    public String rawTable() {
        return "raw." + name;
    }

    /**
     * Whether the stream carries changes of keyed rows, so that {@code state.<stream>} follows them: it has a {@code cdc}
     * source, or a {@code jdbc} source and a {@code key}.
     */
    public boolean stateTable() {
        return key.isPresent() && sources.stream().anyMatch(s -> s instanceof SourceSpec.Cdc || s instanceof SourceSpec.Jdbc);
    }
}
