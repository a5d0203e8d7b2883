package io.watershed.lake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watershed.spi.BusPartition;
import io.watershed.spi.BusReader;
import io.watershed.spi.BusRecord;
import io.watershed.spi.BusRecordKind;
import io.watershed.spi.EventBus;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.LakeTail;
import io.watershed.spi.StreamSpec;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.Schema;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fresh tail of every raw table ({@link LakeTail}). One {@code read_committed} bus reader over the
 * topics of all streams, positioned at the offsets of the snapshot the query engine serves, reads to
 * the bus's end when a query comes. Records are parsed and typed as {@link StreamLakeWriter} does
 * (same {@link RawSchema} rules, from the table's schema), so the tail holds what the next commit will.
 * When a commit moves the base, rows it covers are dropped: the tail never overlaps the snapshot and
 * never skips an offset after it.
 */
final class RawTail implements LakeTail, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RawTail.class);
    /** How long one query may spend reading the bus; past it the query sees a shorter (still exact) tail. */
    static final Duration READ_BUDGET = Duration.ofSeconds(1);
    /** Rows one table's tail holds at most (the lake writer is that far behind); newer events wait for its commit. */
    static final int MAX_ROWS = 500_000;

    private final IcebergLake lake;
    private final EventBus eventBus;
    private final Map<String, StreamSpec> streams = new ConcurrentHashMap<>();
    private final Map<String, TableTail> tails = new HashMap<>();
    private final AtomicLong generations = new AtomicLong();
    private BusReader reader;
    private boolean closed;
    private long lastWarning;

    RawTail(IcebergLake lake, EventBus eventBus) {
        this.lake = lake;
        this.eventBus = eventBus;
    }

    /** Serves the tail of the stream's raw table from now on. */
    void add(StreamSpec stream) {
        streams.put(stream.rawTable(), stream);
    }

    @Override
    public synchronized List<Tail> read(List<Request> requests) {
        List<Request> served = new ArrayList<>();
        for (Request request : requests) {
            String name = request.view().qualifiedName();
            StreamSpec stream = streams.get(name);
            if (stream == null) {
                continue;
            }
            TableTail tail = tails.get(name);
            if (tail == null) {
                tail = new TableTail(name, stream, lake.catalog().loadTable(TableIdentifier.parse(name)).schema());
                tails.put(name, tail);
            } else if (!request.view().offsets().equals(tail.base)) {
                // a new commit: the tail named the columns of fields new to the table itself; where the writer named
                // them otherwise (colliding fields met in another order), the table's names win and the tail starts over
                tail.reconcile(lake.catalog().loadTable(TableIdentifier.parse(name)).schema());
            }
            tail.rebase(request.view().offsets());
            served.add(request);
        }
        if (served.isEmpty()) {
            return List.of();
        }
        if (!closed) {
            try {
                catchUp();
            } catch (RuntimeException e) {
                // the tail stays what it was, a shorter run from the base: queries stay exact, only less fresh
                long now = System.nanoTime();
                if (now - lastWarning > Duration.ofMinutes(1).toNanos()) {
                    lastWarning = now;
                    LOG.warn("Cannot read the bus for the fresh tail of raw tables; queries see committed rows and the tail "
                            + "read so far until it answers again: {}", e.toString());
                }
                dropReader();
            }
        }
        List<Tail> answer = new ArrayList<>(served.size());
        for (Request request : served) {
            answer.add(tails.get(request.view().qualifiedName()).answer(request));
        }
        return answer;
    }

    private void catchUp() {
        if (reader == null) {
            reader = eventBus.reader("watershed-query-tail", BusReader.Pace.PROMPT);
        }
        Map<BusPartition, TableTail> owners = new HashMap<>();
        for (TableTail tail : tails.values()) {
            if (tail.partitions == null) {
                tail.partitions = reader.partitions(tail.stream.topic(), Duration.ofSeconds(2));
            }
            for (int partition : tail.partitions) {
                owners.put(new BusPartition(tail.stream.topic(), partition), tail);
            }
        }
        Set<BusPartition> before = new HashSet<>(reader.assignment());
        if (!before.equals(owners.keySet())) {
            reader.assign(owners.keySet());
        }
        List<BusPartition> active = new ArrayList<>();
        List<BusPartition> full = new ArrayList<>();
        for (Map.Entry<BusPartition, TableTail> entry : owners.entrySet()) {
            BusPartition tp = entry.getKey();
            TableTail tail = entry.getValue();
            int partition = tp.partition();
            if (tail.seek.remove(partition) || !before.contains(tp)) {
                reader.seek(tp, tail.position.computeIfAbsent(partition, p -> tail.base.getOrDefault(p, 0L)));
            }
            (tail.isFull() ? full : active).add(tp);
        }
        reader.pause(full);
        reader.resume(active);
        if (active.isEmpty()) {
            return;
        }
        Map<BusPartition, Long> ends = reader.endOffsets(active, Duration.ofSeconds(2));
        long deadline = System.nanoTime() + READ_BUDGET.toNanos();
        while (behind(ends) && System.nanoTime() < deadline) {
            for (BusRecord record : reader.poll(Duration.ofMillis(20))) {
                TableTail tail = owners.get(record.busPartition());
                if (tail != null) {
                    tail.land(record);
                }
            }
        }
        for (BusPartition tp : active) {
            // past transaction markers and aborted records too, which carry no row
            owners.get(tp).position.put(tp.partition(), reader.position(tp));
        }
    }

    private boolean behind(Map<BusPartition, Long> ends) {
        for (Map.Entry<BusPartition, Long> end : ends.entrySet()) {
            if (reader.position(end.getKey()) < end.getValue()) {
                return true;
            }
        }
        return false;
    }

    private void dropReader() {
        if (reader != null) {
            try {
                reader.close(Duration.ofSeconds(1));
            } catch (RuntimeException ignored) {
                // it is being replaced
            }
            reader = null;
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        dropReader();
    }

    private record Row(int partition, long offset, Object[] values) {}

    /** One raw table's tail: the rows at offsets from {@link #base} on, in the order they were read. */
    private final class TableTail {
        final String name;
        final StreamSpec stream;
        RawSchema.Columns columns;
        List<Integer> partitions;
        Map<Integer, Long> base;
        /** Per partition, the next offset to read. */
        final Map<Integer, Long> position = new HashMap<>();
        /** Partitions whose position moved without the reader: it must seek before reading. */
        final Set<Integer> seek = new HashSet<>();
        final List<Row> rows = new ArrayList<>();
        long generation;
        boolean warnedFull;

        TableTail(String name, StreamSpec stream, Schema schema) {
            this.name = name;
            this.stream = stream;
            this.columns = RawSchema.Columns.of(schema);
        }

        /** Takes the table's column names when they differ from the ones this tail gave; it then reads again from its base. */
        void reconcile(Schema table) {
            RawSchema.Columns committed = RawSchema.Columns.of(table);
            if (!columns.agreesWith(committed)) {
                columns = committed;
                base = null; // rebase starts over from the snapshot's offsets
            }
        }

        /** Makes the tail begin where the snapshot the caller serves ends. */
        void rebase(Map<Integer, Long> offsets) {
            if (offsets.equals(base)) {
                return;
            }
            boolean forward = base != null;
            if (forward) {
                for (Map.Entry<Integer, Long> old : base.entrySet()) {
                    forward &= offsets.getOrDefault(old.getKey(), 0L) >= old.getValue();
                }
            }
            if (forward) {
                rows.removeIf(row -> row.offset < offsets.getOrDefault(row.partition, 0L));
                offsets.forEach((partition, next) -> {
                    if (position.getOrDefault(partition, 0L) < next) {
                        position.put(partition, next); // the commit covers offsets this tail had not read yet
                        seek.add(partition);
                    }
                });
            } else {
                // first use, or the table went back (recreated): start over from the snapshot's offsets
                rows.clear();
                position.clear();
                seek.clear();
                position.putAll(offsets);
                if (partitions != null) {
                    seek.addAll(partitions);
                }
            }
            if (rows.size() < MAX_ROWS) {
                warnedFull = false;
            }
            base = Map.copyOf(offsets);
            generation = generations.incrementAndGet();
        }

        boolean isFull() {
            if (rows.size() >= MAX_ROWS && !warnedFull) {
                warnedFull = true;
                LOG.warn("{}: the fresh tail holds {} rows, the most it keeps; the lake writer is behind. Queries see events "
                        + "past them once the writer commits (see watershed_lake_lag_offsets).", name, rows.size());
            }
            return rows.size() >= MAX_ROWS;
        }

        /** Adds the record as the lake writer would land it; records it would dead-letter are left out. */
        void land(BusRecord record) {
            int partition = record.partition();
            long offset = record.offset();
            if (offset < position.getOrDefault(partition, 0L) || offset < base.getOrDefault(partition, 0L)) {
                return; // already held, or covered by the snapshot
            }
            position.put(partition, offset + 1);
            if (record.kind() != BusRecordKind.EVENT) {
                return; // a no-op, or what the writer dead-letters: a dead letter, an empty record (see BusRecordKind)
            }
            JsonNode node;
            try {
                node = StreamLakeWriter.JSON.readTree(record.value());
            } catch (IOException e) {
                return;
            }
            if (!(node instanceof ObjectNode event)) {
                return;
            }
            try {
                RawSchema.Changes changes = RawSchema.changesFor(columns, event, stream.fields());
                if (!changes.isEmpty()) {
                    evolve(changes);
                }
                OffsetDateTime ingestedAt = OffsetDateTime.ofInstant(Instant.ofEpochMilli(record.timestamp()), ZoneOffset.UTC);
                GenericRecord row = RawSchema.toRecord(columns, event, partition, offset, ingestedAt);
                Object[] values = new Object[row.size()];
                for (int i = 0; i < values.length; i++) {
                    values[i] = row.get(i);
                }
                rows.add(new Row(partition, offset, values));
            } catch (RawSchema.Conflict | RuntimeException e) {
                // the writer sends it to raw.<stream>__dlq with this reason
            }
        }

        /** Applies the changes the writer will make to the table to this tail's own schema and rows. */
        private void evolve(RawSchema.Changes changes) {
            List<Types.NestedField> fields = columns.schema().columns();
            for (int i = 0; i < fields.size(); i++) {
                String name = fields.get(i).name();
                Type wider = changes.widenToDouble().contains(name) ? Types.DoubleType.get()
                        : changes.widenToLong().contains(name) ? Types.LongType.get() : null;
                if (wider != null) {
                    int index = i;
                    for (Row row : rows) {
                        if (index < row.values.length && row.values[index] instanceof Number n) {
                            row.values[index] = wider.typeId() == Type.TypeID.DOUBLE ? (Object) n.doubleValue() : (Object) n.longValue();
                        }
                    }
                }
            }
            columns = RawSchema.Columns.of(RawSchema.evolved(columns.schema(), changes));
            generation = generations.incrementAndGet();
        }

        Tail answer(Request request) {
            List<LakeTableView.Column> columns = new ArrayList<>();
            for (Types.NestedField field : this.columns.schema().columns()) {
                columns.add(IcebergLake.column(field));
            }
            int from = 0;
            if (request.generation() == generation) {
                if (request.held() <= rows.size()) {
                    from = request.held();
                } else {
                    generation = generations.incrementAndGet(); // the caller holds more than there is: replace
                }
            }
            List<Object[]> out = new ArrayList<>(rows.size() - from);
            for (int i = from; i < rows.size(); i++) {
                out.add(Arrays.copyOf(rows.get(i).values, columns.size()));
            }
            return new Tail(name, generation, columns, out);
        }
    }
}
