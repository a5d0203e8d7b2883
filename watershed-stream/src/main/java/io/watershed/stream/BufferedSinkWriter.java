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
 * <p>A failed write is tried twice more after {@link #reset()}; when it keeps failing the job fails and the pipeline is
 * restarted from its last checkpoint, with nothing acknowledged that is not in the store. Its writes are counted in
 * Flink's sink metrics and in {@link SinkStatistics} ({@code /v1/pipelines}, {@code /metrics}).
 */
abstract class BufferedSinkWriter implements SinkWriter<RowData> {
    private static final Logger LOG = LoggerFactory.getLogger(BufferedSinkWriter.class);
    private static final int ATTEMPTS = 3;
    /** Ends the message of a write that failed for good. */
    private static final String RESTARTS = "; the pipeline restarts from its last checkpoint";

    /** One change as the store gets it: the row's values for an upsert or insert, the key's values for a delete. */
    record Change(boolean delete, Object[] values) {}

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
     * Writes the changes, each key at most once, and returns once the store has them all; throws if any failed. Called
     * again with the same changes after a failure and {@link #reset()}.
     */
    abstract void writeChanges(List<Change> changes) throws Exception;

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
        if (keyFields.length == 0) {
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
                writeChanges(changes);
                written.inc(changes.size());
                statistics.written(changes.size(), System.nanoTime() - start);
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
