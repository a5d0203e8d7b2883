package io.watershed.stream;

import io.watershed.spi.LakeTableView;
import io.watershed.spi.StreamSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Flink table {@code streams.<name>} of a stream: a Kafka source on the stream's topic, reading
 * committed records only, with the stream's fields as columns, the provenance columns
 * {@code _partition}, {@code _offset} and {@code _ingested_at}, and, when the stream declares an
 * event-time field, a watermark that trails it by the stream's lateness.
 */
final class StreamTables {
    /** The computed event-time column of a stream whose event_time field holds epoch milliseconds. */
    static final String ROWTIME = "rowtime";

    private StreamTables() {}

    /**
     * The Kafka consumer group a pipeline's stream sources commit their offsets to at each checkpoint; topic
     * retention never deletes past them.
     */
    static String consumerGroup(String pipeline) {
        return "watershed-pipeline-" + pipeline;
    }

    /**
     * Flink column types of a stream by field name: its declared fields, else the fields its raw lake table has
     * columns for so far; empty when neither exists yet. The columns have the names of the events' fields
     * ({@code http.status}), which the raw table's columns may not have ({@code http_status}, see
     * {@link io.watershed.spi.FieldColumns}).
     */
    static Map<String, String> columns(StreamSpec stream, Optional<LakeTableView> rawTable) {
        Map<String, String> columns = new LinkedHashMap<>();
        if (!stream.fields().isEmpty()) {
            stream.fields().forEach((field, type) -> columns.put(field, flinkType(type, stream.eventTime().filter(field::equals).isPresent())));
        } else if (rawTable.isPresent()) {
            for (LakeTableView.Column column : rawTable.get().columns()) {
                if (!StreamSpec.RESERVED_FIELDS.contains(column.name())) {
                    // the JSON format reads a column from the key of its name: the field's own, which a raw column
                    // holding a dotted or case-twin field does not have (FieldColumns)
                    columns.put(column.field(), fromDuckDb(column.sqlType()));
                }
            }
            stream.eventTime().ifPresent(field -> columns.computeIfPresent(field,
                    (f, type) -> type.equals("BIGINT") ? type : "TIMESTAMP_LTZ(3)"));
        }
        return columns;
    }

    /** @param countedAs the key its unreadable records are counted under ({@link UnreadableRecords}) */
    static String ddl(String identifier, StreamSpec stream, Map<String, String> columns, io.watershed.spi.BusConnection bus, String pipeline,
            String countedAs) {
        StringBuilder sql = new StringBuilder("CREATE TEMPORARY TABLE ").append(identifier).append(" (\n");
        columns.forEach((name, type) -> sql.append("  ").append(quote(name)).append(' ').append(type).append(",\n"));
        sql.append("  `_partition` INT METADATA FROM 'partition' VIRTUAL,\n");
        sql.append("  `_offset` BIGINT METADATA FROM 'offset' VIRTUAL,\n");
        sql.append("  `_ingested_at` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL");
        Optional<String> eventTime = stream.eventTime().filter(columns::containsKey);
        if (eventTime.isPresent()) {
            String rowtime = quote(eventTime.get());
            if (columns.get(eventTime.get()).equals("BIGINT")) {
                sql.append(",\n  `").append(ROWTIME).append("` AS TO_TIMESTAMP_LTZ(").append(rowtime).append(", 3)");
                rowtime = '`' + ROWTIME + '`';
            }
            java.time.Duration d = stream.lateness();
            sql.append(",\n  WATERMARK FOR ").append(rowtime).append(" AS ").append(rowtime).append(" - INTERVAL '")
                    .append(String.format("%d %02d:%02d:%02d.%03d", d.toDays(), d.toHoursPart(), d.toMinutesPart(),
                            d.toSecondsPart(), d.toMillisPart())).append("' DAY TO SECOND(3)");
        }
        Map<String, String> options = new LinkedHashMap<>(Map.of(
                "properties.group.id", consumerGroup(pipeline),
                GuardedJsonFormatFactory.IDENTIFIER + "." + GuardedJsonFormatFactory.PIPELINE.key(), countedAs,
                "properties.isolation.level", "read_committed",
                "scan.startup.mode", "earliest-offset"));
        sql.append("\n) WITH (\n").append(options(stream.topic(), bus, options)).append(')');
        return sql.toString();
    }



    /** The append-only sink of a stream a pipeline writes, exactly once (see {@link StreamSink}). */
    static String sinkDdl(String identifier, String topic, Map<String, String> columns, io.watershed.spi.BusConnection bus, String sinkId,
            String run) {
        StringBuilder sql = new StringBuilder("CREATE TEMPORARY TABLE ").append(identifier).append(" (\n");
        columns.forEach((name, type) -> sql.append("  ").append(quote(name)).append(' ').append(type).append(",\n"));
        sql.setLength(sql.length() - 2);
        Map<String, String> options = new LinkedHashMap<>();
        options.put("connector", StreamSinkFactory.IDENTIFIER);
        options.put("topic", topic);
        options.put("bootstrap-servers", bus.bootstrapServers());
        options.putAll(bus.prefixed("properties."));
        options.remove("properties.bootstrap.servers");
        options.put("replication-factor", String.valueOf(bus.placement().replicationFactor()));
        options.put("min-insync-replicas", String.valueOf(bus.placement().minInsyncReplicas()));
        options.put("sink-id", sinkId);
        options.put("run", run);
        options.put("format", "json");
        options.put("json.timestamp-format.standard", "ISO-8601");
        sql.append("\n) WITH (\n").append(render(options)).append(')');
        return sql.toString();
    }

    private static String options(String topic, io.watershed.spi.BusConnection bus, Map<String, String> extra) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("connector", "kafka");
        options.put("topic", topic);
        options.putAll(bus.prefixed("properties."));
        // Flink's JSON format, reading only guarded: see GuardedJsonFormatFactory
        options.put("format", GuardedJsonFormatFactory.IDENTIFIER);
        options.put(GuardedJsonFormatFactory.IDENTIFIER + ".timestamp-format.standard", "ISO-8601");
        options.putAll(new java.util.TreeMap<>(extra));
        return render(options);
    }

    private static String render(Map<String, String> options) {
        StringBuilder sql = new StringBuilder();
        options.forEach((k, v) -> sql.append("  '").append(k).append("' = '").append(v.replace("'", "''")).append("',\n"));
        sql.setLength(sql.length() - 2);
        return sql.append('\n').toString();
    }

    static String quote(String identifier) {
        return '`' + identifier.replace("`", "``") + '`';
    }

    private static String flinkType(String declared, boolean eventTime) {
        return switch (declared) {
            case "int" -> "INT";
            case "long" -> "BIGINT";
            case "double" -> "DOUBLE";
            case "boolean" -> "BOOLEAN";
            case "timestamp" -> "TIMESTAMP_LTZ(3)";
            case "string" -> eventTime ? "TIMESTAMP_LTZ(3)" : "STRING";
            default -> "STRING"; // json: the nested value as JSON text
        };
    }

    private static String fromDuckDb(String sqlType) {
        return switch (sqlType) {
            case "INTEGER" -> "INT";
            case "BIGINT" -> "BIGINT";
            case "DOUBLE" -> "DOUBLE";
            case "FLOAT" -> "FLOAT";
            case "BOOLEAN" -> "BOOLEAN";
            case "DATE" -> "DATE";
            case "TIMESTAMPTZ" -> "TIMESTAMP_LTZ(6)";
            case "TIMESTAMP" -> "TIMESTAMP(6)";
            default -> "STRING";
        };
    }

    /** {@code CREATE CATALOG} of the lake's Iceberg catalog in a Flink table environment, under the lake's own name. */
    static String icebergCatalogDdl(String name, java.util.Map<String, String> properties) {
        StringBuilder ddl = new StringBuilder("CREATE CATALOG ").append(quote(name)).append(" WITH (\n  'type' = 'iceberg'");
        properties.forEach((k, v) -> ddl.append(",\n  '").append(k).append("' = '").append(v.replace("'", "''")).append('\''));
        return ddl.append("\n)").toString();
    }
}
