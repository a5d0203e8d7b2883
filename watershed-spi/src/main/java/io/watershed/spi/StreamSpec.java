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
 * @param name stream name, {@code [a-z][a-z0-9_]*}
 * @param partitions Kafka partitions of the stream's topic
 * @param key optional field whose value keys the Kafka record (same key, same partition)
 * @param eventTime optional field holding the event time
 * @param retention how long Kafka keeps the stream's records; empty means the bus default
 * @param fields declared field types (may be empty: types are inferred)
 */
public record StreamSpec(
        String name,
        int partitions,
        Optional<String> key,
        Optional<String> eventTime,
        Optional<Duration> retention,
        Map<String, String> fields) {

    public static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,62}");

    public StreamSpec {
        if (!NAME.matcher(name).matches()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT,
                    "Cannot use stream name '" + name + "': it must match " + NAME.pattern());
        }
        if (partitions < 1) {
            throw new WatershedException(ErrorCode.INVALID_INPUT,
                    "Cannot create stream '" + name + "': partitions must be at least 1, got " + partitions);
        }
        fields = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    /** A stream created on first use: inferred schema, default partitions. */
    public static StreamSpec inferred(String name, int partitions) {
        return new StreamSpec(name, partitions, Optional.empty(), Optional.empty(), Optional.empty(), Map.of());
    }

    public String topic() {
        return name;
    }

    public String rawTable() {
        return "raw." + name;
    }
}
