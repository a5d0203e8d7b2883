package io.watershed.stream;

import io.watershed.spi.LiveTableSource;
import java.io.IOException;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.runtime.typeutils.RowDataSerializer;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.types.RowKind;

/**
 * The current result of a {@code CREATE LIVE VIEW}: a multiset of rows kept up to date from the
 * query's changelog (an insert or update-after adds a row, an update-before or delete removes one),
 * so it needs no key and holds exactly what the query's result is now. Each writer subtask keeps its
 * own part (the changes of one row always reach the same subtask: the sink's input is forwarded from
 * the operator that keyed them) and checkpoints it; queries read the union of the parts.
 */
final class LiveView {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LiveView.class);
    private final String name;
    private final RowType type;
    private final RowData.FieldGetter[] getters;
    private final int maxRows;
    private final Map<Integer, Map<GenericRowData, Long>> parts = new HashMap<>(); // guarded by this
    private int size; // distinct rows over all parts, guarded by this
    private final AtomicLong version = new AtomicLong();
    private long unmatchedRetractions; // guarded by this

    LiveView(String name, RowType type, int maxRows) {
        this.name = name;
        this.type = type;
        this.maxRows = maxRows;
        this.getters = new RowData.FieldGetter[type.getFieldCount()];
        for (int i = 0; i < getters.length; i++) {
            getters[i] = RowData.createFieldGetter(type.getTypeAt(i), i);
        }
    }

    String name() {
        return name;
    }

    RowType type() {
        return type;
    }

    long version() {
        return version.get();
    }

    /** Why a column of this type cannot be in a live view, if it cannot. */
    static Optional<String> unsupported(LogicalType type) {
        return switch (type.getTypeRoot()) {
            case CHAR, VARCHAR, BOOLEAN, TINYINT, SMALLINT, INTEGER, BIGINT, FLOAT, DOUBLE, DECIMAL, DATE,
                    TIME_WITHOUT_TIME_ZONE, TIMESTAMP_WITHOUT_TIME_ZONE, TIMESTAMP_WITH_LOCAL_TIME_ZONE -> Optional.empty();
            default -> Optional.of("live views hold scalar columns only, not " + type.asSummaryString()
                    + "; CAST it to STRING in the view's SELECT");
        };
    }

    /** Applies one change of the query's changelog, seen by the writer of the given subtask. */
    synchronized void apply(int subtask, RowData change) throws IOException {
        GenericRowData row = canonical(change);
        Map<GenericRowData, Long> rows = parts.computeIfAbsent(subtask, s -> new HashMap<>());
        if (change.getRowKind() == RowKind.INSERT || change.getRowKind() == RowKind.UPDATE_AFTER) {
            if (rows.merge(row, 1L, Long::sum) == 1L && ++size > maxRows) {
                throw new IOException("Live view '" + name + "' would hold more than " + maxRows + " distinct rows. A live "
                        + "view is for results that stay small (aggregates, Top-N); write a growing result to a lake "
                        + "table with INSERT INTO <namespace>.<table> instead");
            }
        } else {
            Long count = rows.get(row);
            if (count == null) {
                // the changelog retracts a row the view does not hold: Flink's contract says this cannot happen
                // (the changes of one row reach one subtask in order), so say it, rather than let the view drift
                if (++unmatchedRetractions <= 10 || Long.bitCount(unmatchedRetractions) == 1) {
                    LOG.warn("Live view '{}' got a retraction ({} so far) of a row it does not hold: {}", name,
                            unmatchedRetractions, row);
                }
            } else if (count == 1) {
                rows.remove(row);
                size--;
            } else {
                rows.put(row, count - 1);
            }
        }
        version.incrementAndGet();
    }

    /** Starts a subtask's part over from its checkpointed state (empty on a fresh start). */
    synchronized void reset(int subtask, List<byte[]> states) throws IOException {
        Map<GenericRowData, Long> rows = new HashMap<>();
        RowDataSerializer serializer = new RowDataSerializer(type);
        for (byte[] state : states) {
            DataInputDeserializer in = new DataInputDeserializer(state);
            int count = in.readInt();
            for (int i = 0; i < count; i++) {
                GenericRowData row = canonical(serializer.deserialize(in));
                rows.merge(row, in.readLong(), Long::sum);
            }
        }
        Map<GenericRowData, Long> old = parts.put(subtask, rows);
        size += rows.size() - (old == null ? 0 : old.size());
        version.incrementAndGet();
    }

    /** The state of a subtask's part to checkpoint: every distinct row with its count. */
    synchronized byte[] snapshot(int subtask) throws IOException {
        Map<GenericRowData, Long> rows = parts.getOrDefault(subtask, Map.of());
        RowDataSerializer serializer = new RowDataSerializer(type);
        DataOutputSerializer out = new DataOutputSerializer(1024);
        out.writeInt(rows.size());
        for (Map.Entry<GenericRowData, Long> e : rows.entrySet()) {
            serializer.serialize(e.getKey(), out);
            out.writeLong(e.getValue());
        }
        return out.getCopyOfBuffer();
    }

    /** The rows as plain Java values, for SQL. */
    List<Object[]> rows() {
        List<Map.Entry<GenericRowData, Long>> copy;
        synchronized (this) {
            copy = new ArrayList<>();
            parts.values().forEach(rows -> copy.addAll(rows.entrySet()));
        }
        List<Object[]> result = new ArrayList<>();
        for (Map.Entry<GenericRowData, Long> e : copy) {
            Object[] values = new Object[getters.length];
            for (int i = 0; i < values.length; i++) {
                values[i] = external(type.getTypeAt(i), e.getKey().getField(i));
            }
            for (long n = 0; n < e.getValue(); n++) {
                result.add(values);
            }
        }
        return result;
    }

    List<LiveTableSource.Column> columns() {
        List<LiveTableSource.Column> columns = new ArrayList<>();
        for (int i = 0; i < type.getFieldCount(); i++) {
            columns.add(new LiveTableSource.Column(type.getFieldNames().get(i), duckDbType(type.getTypeAt(i))));
        }
        return columns;
    }

    /** A copy that shares no memory with the (possibly reused) input row, with equality by value. */
    private GenericRowData canonical(RowData change) {
        GenericRowData row = new GenericRowData(RowKind.INSERT, getters.length);
        for (int i = 0; i < getters.length; i++) {
            Object value = getters[i].getFieldOrNull(change);
            if (value instanceof StringData s) {
                value = StringData.fromString(s.toString());
            } else if (value instanceof DecimalData d) {
                value = d.copy();
            }
            row.setField(i, value);
        }
        return row;
    }

    private static Object external(LogicalType type, Object value) {
        if (value == null) {
            return null;
        }
        return switch (type.getTypeRoot()) {
            case CHAR, VARCHAR -> value.toString();
            case DECIMAL -> ((DecimalData) value).toBigDecimal();
            case DATE -> LocalDate.ofEpochDay((Integer) value);
            case TIME_WITHOUT_TIME_ZONE -> LocalTime.ofNanoOfDay((Integer) value * 1_000_000L);
            case TIMESTAMP_WITHOUT_TIME_ZONE -> ((TimestampData) value).toLocalDateTime();
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE -> ((TimestampData) value).toInstant().atOffset(ZoneOffset.UTC);
            default -> value;
        };
    }

    private static String duckDbType(LogicalType type) {
        return switch (type.getTypeRoot()) {
            case BOOLEAN -> "BOOLEAN";
            case TINYINT -> "TINYINT";
            case SMALLINT -> "SMALLINT";
            case INTEGER -> "INTEGER";
            case BIGINT -> "BIGINT";
            case FLOAT -> "FLOAT";
            case DOUBLE -> "DOUBLE";
            case DECIMAL -> "DECIMAL(" + ((DecimalType) type).getPrecision() + "," + ((DecimalType) type).getScale() + ")";
            case DATE -> "DATE";
            case TIME_WITHOUT_TIME_ZONE -> "TIME";
            case TIMESTAMP_WITHOUT_TIME_ZONE -> "TIMESTAMP";
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE -> "TIMESTAMPTZ";
            default -> "VARCHAR";
        };
    }
}
