package io.watershed.lake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watershed.spi.FieldColumns;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * How JSON events map to the columns of a raw lake table, and how that mapping evolves.
 *
 * <ul>
 *   <li>a field's column has the field's name, unless that name has a {@code '.'} or another column has it in another
 *       letter case: then the column gets a safe name ({@code http.status} becomes {@code http_status}, then
 *       {@code _2}, {@code _3}... until free) and its doc names the field; see {@link FieldColumns}. Which column holds
 *       which field is read from the schema ({@link Columns});
 *   <li>integers become {@code int}, or {@code long} when they do not fit; fractions become {@code double};
 *       strings {@code string}; booleans {@code boolean};
 *   <li>nested objects and arrays are kept whole as JSON text in a {@code string} column (query them
 *       with DuckDB's {@code ->>} / {@code json_extract});
 *   <li>a new field adds an optional column; an {@code int} column widens to {@code long}
 *       (Iceberg's own promotion) and an {@code int} or {@code long} column to {@code double} when a
 *       fraction arrives (Iceberg has no such promotion: the writer rewrites the table in one commit);
 *       anything else that does not fit, or a field named like a provenance column, is a {@link Conflict} and the
 *       record goes to the dead-letter table with the reason.
 * </ul>
 * Declared field types from the stream file take precedence over inference; they are declared by field name.
 */
final class RawSchema {
    static final String PARTITION = "_partition";
    static final String OFFSET = "_offset";
    static final String INGESTED_AT = IcebergLake.INGESTED_AT;
    static final Set<String> PROVENANCE = io.watershed.spi.StreamSpec.RESERVED_FIELDS;
    static final int MAX_COLUMNS = 1000;

    private RawSchema() {}

    static Schema initial() {
        return new Schema(
                Types.NestedField.required(1, PARTITION, Types.IntegerType.get(), "Kafka partition of the event"),
                Types.NestedField.required(2, OFFSET, Types.LongType.get(), "Kafka offset of the event"),
                Types.NestedField.required(3, INGESTED_AT, Types.TimestampType.withZone(), "When ingest acknowledged the event"));
    }

    static PartitionSpec spec(Schema schema) {
        return PartitionSpec.builderFor(schema).day(INGESTED_AT).build();
    }

    static Schema dlqSchema() {
        return new Schema(
                Types.NestedField.required(1, PARTITION, Types.IntegerType.get()),
                Types.NestedField.required(2, OFFSET, Types.LongType.get()),
                Types.NestedField.required(3, INGESTED_AT, Types.TimestampType.withZone()),
                Types.NestedField.optional(4, "raw", Types.StringType.get(), "The record as it was on the bus"),
                Types.NestedField.optional(5, "reason", Types.StringType.get(), "Why it could not be written"),
                Types.NestedField.required(6, "failed_at", Types.TimestampType.withZone()));
    }

    static Type declaredType(String declared) {
        return switch (declared) {
            case "int" -> Types.IntegerType.get();
            case "long" -> Types.LongType.get();
            case "double" -> Types.DoubleType.get();
            case "boolean" -> Types.BooleanType.get();
            case "timestamp" -> Types.TimestampType.withZone();
            default -> Types.StringType.get();
        };
    }

    /** A value that cannot be stored in its column. */
    static final class Conflict extends Exception {
        Conflict(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The columns of one schema of a raw table by the event field each holds ({@link FieldColumns}): worked out once per
     * schema, since the lake writer asks for every field of every record.
     */
    static final class Columns {
        private final Schema schema;
        private final Map<String, Types.NestedField> byField = new HashMap<>();
        private final Set<String> taken = new HashSet<>();

        private Columns(Schema schema) {
            this.schema = schema;
            for (Types.NestedField column : schema.columns()) {
                byField.putIfAbsent(FieldColumns.field(column.name(), column.doc()), column);
                taken.add(FieldColumns.folded(column.name()));
            }
        }

        /** The columns of {@code schema}: {@code previous} when that is of the same schema object. */
        static Columns of(Schema schema, Columns previous) {
            return previous != null && previous.schema == schema ? previous : new Columns(schema);
        }

        static Columns of(Schema schema) {
            return new Columns(schema);
        }

        Schema schema() {
            return schema;
        }

        /** The column holding {@code field}; null when there is none yet. */
        Types.NestedField column(String field) {
            return byField.get(field);
        }

        /**
         * Whether every field that both map is in a column of the same name in each, and no column name holds one field
         * here and another there: false when two readers met new colliding fields in different orders (the lake
         * writer's mapping, committed in the table, then wins).
         */
        boolean agreesWith(Columns other) {
            Map<String, String> fieldByColumn = new HashMap<>();
            byField.forEach((field, column) -> fieldByColumn.put(FieldColumns.folded(column.name()), field));
            for (Map.Entry<String, Types.NestedField> entry : other.byField.entrySet()) {
                Types.NestedField mine = byField.get(entry.getKey());
                if (mine != null && !mine.name().equals(entry.getValue().name())) {
                    return false;
                }
                String field = fieldByColumn.get(FieldColumns.folded(entry.getValue().name()));
                if (field != null && !field.equals(entry.getKey())) {
                    return false;
                }
            }
            return true;
        }
    }

    /** A column to add; {@code doc} names the field it holds when that is not its name, else null. */
    record Addition(String column, Type type, String doc) {}

    /** Schema changes a record needs: columns to add, int columns to widen to long, int/long columns to widen to double. */
    record Changes(List<Addition> additions, List<String> widenToLong, List<String> widenToDouble) {
        boolean isEmpty() {
            return additions.isEmpty() && widenToLong.isEmpty() && widenToDouble.isEmpty();
        }

        List<String> added() {
            return additions.stream().map(Addition::column).toList();
        }
    }

    /**
     * Works out what the record needs of the schema. Columns of fields new to the table are named all at once, so two
     * of them never get one name.
     *
     * @throws Conflict when a value can never fit its column (the record goes to the dead-letter table)
     */
    static Changes changesFor(Columns columns, ObjectNode event, Map<String, String> declared) throws Conflict {
        Map<String, Type> newFields = new LinkedHashMap<>();
        List<String> widen = new ArrayList<>();
        List<String> widenToDouble = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = event.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String name = entry.getKey();
            JsonNode value = entry.getValue();
            if (PROVENANCE.contains(name)) {
                throw new Conflict("field '" + name + "' uses a reserved column name (" + PROVENANCE
                        + " hold provenance); rename the field");
            }
            if (name.isEmpty()) {
                throw new Conflict("a field has an empty name");
            }
            Types.NestedField column = columns.column(name);
            if (column == null) {
                if (value.isNull()) {
                    continue;
                }
                Type type = declared.containsKey(name) ? declaredType(declared.get(name)) : inferred(value);
                convert(name, type, value);
                newFields.put(name, type);
            } else if (column.type().typeId() == Type.TypeID.INTEGER && value.isIntegralNumber() && !value.canConvertToInt()
                    && value.canConvertToLong()) {
                widen.add(column.name());
            } else if ((column.type().typeId() == Type.TypeID.INTEGER || column.type().typeId() == Type.TypeID.LONG)
                    && value.isNumber() && !value.isIntegralNumber() && !declared.containsKey(name)) {
                widenToDouble.add(column.name());
            } else {
                convert(name, column.type(), value);
            }
        }
        if (columns.schema.columns().size() + newFields.size() > MAX_COLUMNS) {
            throw new Conflict("the event would grow the table past " + MAX_COLUMNS
                    + " columns; keep variable keys inside a nested object (stored as JSON)");
        }
        List<Addition> additions = new ArrayList<>(newFields.size());
        if (!newFields.isEmpty()) {
            FieldColumns.name(newFields.keySet(), columns.taken).forEach((field, column) ->
                    additions.add(new Addition(column, newFields.get(field), column.equals(field) ? null : FieldColumns.doc(field))));
        }
        return new Changes(additions, widen, widenToDouble);
    }

    /** {@code schema} with the changes made, as the writer makes them in the table (column ids aside). */
    static Schema evolved(Schema schema, Changes changes) {
        List<Types.NestedField> fields = new ArrayList<>(schema.columns());
        for (int i = 0; i < fields.size(); i++) {
            Types.NestedField field = fields.get(i);
            Type wider = changes.widenToDouble().contains(field.name()) ? Types.DoubleType.get()
                    : changes.widenToLong().contains(field.name()) ? Types.LongType.get() : null;
            if (wider != null) {
                fields.set(i, Types.NestedField.optional(field.fieldId(), field.name(), wider, field.doc()));
            }
        }
        int id = schema.highestFieldId();
        for (Addition added : changes.additions()) {
            fields.add(Types.NestedField.optional(++id, added.column(), added.type(), added.doc()));
        }
        return new Schema(fields);
    }

    /** The schema of a new table: {@code initial} and a column of each declared field, named by the same rule. */
    static Schema withDeclared(Schema initial, Map<String, String> declared) {
        if (declared.isEmpty()) {
            return initial;
        }
        Set<String> taken = new HashSet<>();
        initial.columns().forEach(c -> taken.add(FieldColumns.folded(c.name())));
        List<Types.NestedField> columns = new ArrayList<>(initial.columns());
        int id = initial.highestFieldId();
        for (Map.Entry<String, String> named : FieldColumns.name(declared.keySet(), taken).entrySet()) {
            String field = named.getKey();
            String column = named.getValue();
            columns.add(Types.NestedField.optional(++id, column, declaredType(declared.get(field)),
                    column.equals(field) ? null : FieldColumns.doc(field)));
        }
        return new Schema(columns);
    }

    static Type inferred(JsonNode value) {
        if (value.isIntegralNumber()) {
            return value.canConvertToInt() ? Types.IntegerType.get() : Types.LongType.get();
        }
        if (value.isNumber()) {
            return Types.DoubleType.get();
        }
        if (value.isBoolean()) {
            return Types.BooleanType.get();
        }
        return Types.StringType.get();
    }

    /** Builds the row for a record whose changes were applied to the schema of {@code columns}. */
    static GenericRecord toRecord(Columns columns, ObjectNode event, int partition, long offset, OffsetDateTime ingestedAt)
            throws Conflict {
        GenericRecord record = GenericRecord.create(columns.schema);
        record.setField(PARTITION, partition);
        record.setField(OFFSET, offset);
        record.setField(INGESTED_AT, ingestedAt);
        for (Iterator<Map.Entry<String, JsonNode>> it = event.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            Types.NestedField column = columns.column(entry.getKey());
            if (column != null) {
                record.setField(column.name(), convert(entry.getKey(), column.type(), entry.getValue()));
            }
        }
        return record;
    }

    static Object convert(String field, Type type, JsonNode value) throws Conflict {
        if (value.isNull()) {
            return null;
        }
        switch (type.typeId()) {
            case INTEGER:
                if (value.isIntegralNumber() && value.canConvertToInt()) {
                    return value.intValue();
                }
                break;
            case LONG:
                if (value.isIntegralNumber() && value.canConvertToLong()) {
                    return value.longValue();
                }
                if (value.isIntegralNumber()) {
                    throw new Conflict("field '" + field + "': " + value.asText() + " does not fit a 64-bit long");
                }
                break;
            case DOUBLE:
                if (value.isNumber()) {
                    double d = value.doubleValue();
                    if (Double.isInfinite(d)) {
                        throw new Conflict("field '" + field + "': " + value.asText() + " is beyond the range of a double");
                    }
                    return d;
                }
                break;
            case BOOLEAN:
                if (value.isBoolean()) {
                    return value.booleanValue();
                }
                break;
            case STRING:
                if (value.isTextual()) {
                    return value.textValue();
                }
                if (value.isContainerNode()) {
                    return value.toString();
                }
                break;
            case TIMESTAMP:
                if (value.isIntegralNumber()) {
                    return inRange(field, OffsetDateTime.ofInstant(Instant.ofEpochMilli(value.longValue()), ZoneOffset.UTC));
                }
                if (value.isTextual()) {
                    try {
                        return inRange(field, OffsetDateTime.parse(value.textValue()).withOffsetSameInstant(ZoneOffset.UTC));
                    } catch (DateTimeParseException e) {
                        throw new Conflict("field '" + field + "': '" + value.textValue()
                                + "' is not an ISO-8601 timestamp with offset (e.g. 2026-11-21T10:15:30Z)");
                    }
                }
                break;
            default:
                break;
        }
        String got = describe(value);
        if (value.isNumber() && !value.isIntegralNumber()
                && (type.typeId() == Type.TypeID.INTEGER || type.typeId() == Type.TypeID.LONG)) {
            throw new Conflict("field '" + field + "': column is declared " + type + " in the stream file; got "
                    + value.asText() + " (declare it double to accept fractions)");
        }
        throw new Conflict("field '" + field + "': expected " + type + ", got " + got);
    }

    /** Iceberg stores microseconds since 1970 in a long; keep to years 1..9999 like SQL engines do. */
    private static OffsetDateTime inRange(String field, OffsetDateTime time) throws Conflict {
        if (time.getYear() < 1 || time.getYear() > 9999) {
            throw new Conflict("field '" + field + "': " + time + " is outside years 1-9999 (epoch milliseconds expected)");
        }
        return time;
    }

    private static String describe(JsonNode value) {
        String text = value.toString();
        if (text.length() > 60) {
            text = text.substring(0, 57) + "...";
        }
        String kind = value.isTextual() ? "string" : value.isIntegralNumber() ? "integer" : value.isNumber() ? "number"
                : value.isBoolean() ? "boolean" : value.isArray() ? "array" : "object";
        return kind + " " + text;
    }
}
