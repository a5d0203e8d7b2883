package io.watershed.lake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
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
 *   <li>integers become {@code int}, or {@code long} when they do not fit; fractions become {@code double};
 *       strings {@code string}; booleans {@code boolean};
 *   <li>nested objects and arrays are kept whole as JSON text in a {@code string} column (query them
 *       with DuckDB's {@code ->>} / {@code json_extract});
 *   <li>a new field adds an optional column; an {@code int} column widens to {@code long}
 *       (Iceberg's own promotion) and an {@code int} or {@code long} column to {@code double} when a
 *       fraction arrives (Iceberg has no such promotion: the writer rewrites the table in one commit);
 *       anything else that does not fit is a {@link Conflict} and the record goes to the dead-letter
 *       table with the reason.
 * </ul>
 * Declared field types from the stream file take precedence over inference.
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

    /** Schema changes a record needs: columns to add, int columns to widen to long, int/long columns to widen to double. */
    record Changes(Map<String, Type> additions, List<String> widenToLong, List<String> widenToDouble) {
        boolean isEmpty() {
            return additions.isEmpty() && widenToLong.isEmpty() && widenToDouble.isEmpty();
        }
    }

    /**
     * Works out what the record needs of the schema.
     *
     * @throws Conflict when a value can never fit its column (the record goes to the dead-letter table)
     */
    static Changes changesFor(Schema schema, ObjectNode event, Map<String, String> declared) throws Conflict {
        Map<String, Type> additions = new LinkedHashMap<>();
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
            Types.NestedField column = schema.findField(name);
            if (column == null) {
                if (value.isNull()) {
                    continue;
                }
                if (name.indexOf('.') >= 0) {
                    throw new Conflict("field name '" + name + "' contains '.', which Iceberg reserves for nesting; "
                            + "rename the field or nest it as an object");
                }
                Types.NestedField sameButCase = schema.caseInsensitiveFindField(name);
                if (sameButCase != null || additionsIgnoringCase(additions, name)) {
                    throw new Conflict("field '" + name + "' differs only in letter case from column '"
                            + (sameButCase != null ? sameButCase.name() : name) + "'; SQL treats them as one name");
                }
                Type type = declared.containsKey(name) ? declaredType(declared.get(name)) : inferred(value);
                convert(name, type, value);
                additions.put(name, type);
            } else if (column.type().typeId() == Type.TypeID.INTEGER && value.isIntegralNumber() && !value.canConvertToInt()
                    && value.canConvertToLong()) {
                widen.add(name);
            } else if ((column.type().typeId() == Type.TypeID.INTEGER || column.type().typeId() == Type.TypeID.LONG)
                    && value.isNumber() && !value.isIntegralNumber() && !declared.containsKey(name)) {
                widenToDouble.add(name);
            } else {
                convert(name, column.type(), value);
            }
        }
        if (schema.columns().size() + additions.size() > MAX_COLUMNS) {
            throw new Conflict("the event would grow the table past " + MAX_COLUMNS
                    + " columns; keep variable keys inside a nested object (stored as JSON)");
        }
        return new Changes(additions, widen, widenToDouble);
    }

    private static boolean additionsIgnoringCase(Map<String, Type> additions, String name) {
        for (String added : additions.keySet()) {
            if (added.equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
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

    /** Builds the row for a record whose changes were applied to {@code schema}. */
    static GenericRecord toRecord(Schema schema, ObjectNode event, int partition, long offset, OffsetDateTime ingestedAt)
            throws Conflict {
        GenericRecord record = GenericRecord.create(schema);
        record.setField(PARTITION, partition);
        record.setField(OFFSET, offset);
        record.setField(INGESTED_AT, ingestedAt);
        for (Iterator<Map.Entry<String, JsonNode>> it = event.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            Types.NestedField column = schema.findField(entry.getKey());
            if (column != null) {
                record.setField(entry.getKey(), convert(entry.getKey(), column.type(), entry.getValue()));
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
