package io.watershed.stream;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.types.RowKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every writer of a sink to an outside store does ({@code INSERT INTO sinks.<name>}): it buffers rows and writes
 * them when it has {@code batchSize} of them, when the oldest has waited {@code flushInterval}, at every checkpoint
 * barrier and at the end of input. A full buffer is written before the next row is taken, so a slow store holds the
 * pipeline back rather than growing the buffer. With a key, the buffer keeps the last change of each key: an insert or
 * update becomes an upsert, a delete or retraction a delete by the key. A crash replays the rows since the last
 * checkpoint, whose upserts and deletes leave the store as it was meant to be: the effect is exactly once. Without a key
 * rows are appended, and a replay appends them again (at least once).
 *
 * <p>A change the store refuses for its data (a value its table does not take) is a dead letter: the store's writer keeps
 * it with the reason where the store keeps its dead letters ({@code <table>__dlq}), and it is counted; the rest of the
 * batch is written. Rows that cannot be written at all (a NULL key) reach a writer whose {@link SinkShape#deadLetters()}
 * is set, and every change it gets is a dead letter. A failed write is tried twice more after {@link #reset()}; when it keeps failing the job fails and the pipeline is
 * restarted from its last checkpoint, with nothing acknowledged that is not in the store. Its writes are counted in
 * Flink's sink metrics and in {@link SinkStatistics} ({@code /v1/pipelines}, {@code /metrics}).
 */
abstract class BufferedSinkWriter implements SinkWriter<RowData> {
    private static final Logger LOG = LoggerFactory.getLogger(BufferedSinkWriter.class);
    private static final int ATTEMPTS = 3;
    /** Ends the message of a write that failed for good. */
    private static final String RESTARTS = "; the pipeline restarts from its last checkpoint";

    /**
     * One change as the store gets it: the row's values for an upsert or insert, the key's values for a delete (all the
     * row's values for a dead-letter writer's retraction).
     */
    record Change(boolean delete, Object[] values) {}

    /** A change the store refused for its data, with its code (a SQLSTATE, say; null when it has none) and reason. */
    record Refused(Change change, String code, String reason) {}

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    protected final SinkShape shape;
    private final RowData.FieldGetter[] getters;
    private final int[] keyFields;
    private final ProcessingTimeService time;
    private final Counter written;
    private final Counter errors;
    private final SinkStatistics statistics;
    /** Keyed: the last change per key; appending: every row in order (keyed by its arrival). */
    private final Map<Object, Change> pending = new LinkedHashMap<>();
    private long appended;
    private ScheduledFuture<?> timer;

    BufferedSinkWriter(SinkShape shape, WriterInitContext context) {
        this(shape, context.getProcessingTimeService(), context.metricGroup().getNumRecordsSendCounter(),
                context.metricGroup().getNumRecordsSendErrorsCounter(), SinkStatistics.of(shape.countedAs()));
    }

    BufferedSinkWriter(SinkShape shape, ProcessingTimeService time, Counter written, Counter errors, SinkStatistics statistics) {
        this.shape = shape;
        this.time = time;
        this.written = written;
        this.errors = errors;
        this.statistics = statistics;
        this.getters = new RowData.FieldGetter[shape.types().size()];
        for (int i = 0; i < getters.length; i++) {
            getters[i] = RowData.createFieldGetter(shape.types().get(i), i);
        }
        this.keyFields = shape.key().stream().mapToInt(shape.columns()::indexOf).toArray();
    }

    /** A Flink value (never null) of a column of that type as the store's client takes it. */
    abstract Object value(Object value, LogicalType type);

    /**
     * Writes the changes, each key at most once, and returns once the store has them all, but for the ones it refused for
     * their data, which it has put with their reasons into its dead letters (every change, for a dead-letter writer);
     * throws if the write failed otherwise. Called again with the same changes after a failure and {@link #reset()}.
     */
    abstract List<Refused> writeChanges(List<Change> changes) throws Exception;

    /**
     * A change as JSON, as its dead letter keeps it: {@code {"op": insert|upsert|delete, "row": {column: value}}} (only
     * the key's columns for a delete); bytes in base64, other values as their text.
     */
    String changeJson(Change change) {
        boolean keyOnly = change.delete() && !shape.deadLetters();
        List<String> names = keyOnly ? shape.key() : shape.columns();
        Map<String, Object> row = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            Object value = change.values()[i];
            row.put(names.get(i), value == null || value instanceof Number || value instanceof Boolean ? value
                    : value instanceof byte[] bytes ? java.util.Base64.getEncoder().encodeToString(bytes)
                    : value instanceof java.nio.ByteBuffer buffer ? java.util.Base64.getEncoder().encodeToString(
                            java.util.Arrays.copyOfRange(buffer.array(), buffer.arrayOffset() + buffer.position(),
                                    buffer.arrayOffset() + buffer.limit()))
                    : value.toString());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("op", change.delete() ? "delete" : shape.key().isEmpty() && !shape.deadLetters() ? "insert" : "upsert");
        out.put("row", row);
        try {
            return JSON.writeValueAsString(out);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A dead letter's id: the SHA-256 of its change's JSON, so that a replay writes the same dead letter again, not twice. */
    static String deadLetterId(String changeJson) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(changeJson.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** After a failed write: drops what may be broken (the connection, by default), so that the next attempt starts afresh. */
    void reset() {
        closeStore();
    }

    /** Where the rows go, for messages: a table and its store's address, without credentials. */
    abstract String destination();

    @Override
    public void write(RowData row, Context context) throws IOException, InterruptedException {
        Object[] values = new Object[getters.length];
        for (int i = 0; i < values.length; i++) {
            Object value = getters[i].getFieldOrNull(row);
            values[i] = value == null ? null : value(value, shape.types().get(i));
        }
        int before = pending.size();
        if (shape.deadLetters()) {
            boolean retract = row.getRowKind() == RowKind.DELETE || row.getRowKind() == RowKind.UPDATE_BEFORE;
            pending.put(appended++, new Change(retract, values));
        } else if (keyFields.length == 0) {
            pending.put(appended++, new Change(false, values));
        } else {
            Object[] key = new Object[keyFields.length];
            for (int i = 0; i < key.length; i++) {
                key[i] = values[keyFields[i]];
            }
            // arrays compare by identity: a binary key is held by its bytes' value, so its changes merge too
            Object[] comparable = key.clone();
            for (int i = 0; i < comparable.length; i++) {
                if (comparable[i] instanceof byte[] bytes) {
                    comparable[i] = java.nio.ByteBuffer.wrap(bytes);
                }
            }
            List<Object> keyValue = Arrays.asList(comparable);
            // an UPDATE_BEFORE whose UPDATE_AFTER does not follow (a filter over an updating query dropped it) retracts
            // the row: it is a delete, which the UPDATE_AFTER, if it comes, replaces as the key's last change
            boolean retract = row.getRowKind() == RowKind.DELETE || row.getRowKind() == RowKind.UPDATE_BEFORE;
            pending.put(keyValue, retract ? new Change(true, key) : new Change(false, values));
        }
        statistics.buffered(pending.size() - before);
        if (pending.size() >= shape.batchSize()) {
            writePending();
        } else if (timer == null) {
            timer = time.registerTimer(time.getCurrentProcessingTime() + shape.flushIntervalMillis(), now -> {
                timer = null;
                writePending();
            });
        }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
        writePending();
    }

    private void writePending() throws IOException, InterruptedException {
        if (pending.isEmpty()) {
            return;
        }
        List<Change> changes = new ArrayList<>(pending.values());
        Exception last = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            long start = System.nanoTime();
            try {
                List<Refused> refused = writeChanges(changes);
                int taken = changes.size() - refused.size();
                written.inc(taken);
                statistics.written(taken, System.nanoTime() - start);
                if (!refused.isEmpty()) {
                    String reason = refused.get(refused.size() - 1).reason();
                    statistics.deadLettered(refused.size(), reason);
                    LOG.warn("Sink '{}': {} of {} rows not written to {}, kept as dead letters; the last reason: {}", shape.sink(),
                            refused.size(), changes.size(), destination(), reason);
                }
                pending.clear();
                return;
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                last = e;
                errors.inc();
                statistics.failed(e.getMessage());
                reset();
                LOG.warn("Sink '{}' could not write {} rows to {} (attempt {} of {}): {}", shape.sink(), changes.size(),
                        destination(), attempt, ATTEMPTS, e.getMessage());
                if (attempt < ATTEMPTS) {
                    Thread.sleep(500L * attempt);
                }
            }
        }
        throw new IOException("Cannot write " + changes.size() + " rows of sink '" + shape.sink() + "' to " + destination() + ": "
                + last.getMessage() + RESTARTS, last);
    }

    /** Whether a job's failure (its stack traces as text) is a sink's store refusing writes: a store down, not a bug. */
    static boolean storeFailed(String failure) {
        return failure.contains(RESTARTS) && failure.contains("Cannot write ");
    }

    /** Closes what the store's client holds open. */
    abstract void closeStore();

    /** Closes a store's connection or session; a failure is only logged at debug level, since it is dropped either way. */
    void closeQuietly(AutoCloseable store, String what) {
        try {
            store.close();
        } catch (Exception e) {
            LOG.debug("Closing the {} of sink '{}' failed", what, shape.sink(), e);
        }
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.cancel(false);
        }
        closeStore(); // rows not yet flushed are in no checkpoint: the restarted job writes them again
        statistics.buffered(-pending.size());
        pending.clear();
    }
}
