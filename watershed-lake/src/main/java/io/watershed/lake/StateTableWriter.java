package io.watershed.lake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.watershed.spi.BusPartition;
import io.watershed.spi.BusReader;
import io.watershed.spi.BusRecord;
import io.watershed.spi.BusRecordKind;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.OverwriteFiles;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.UpdateSchema;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.exceptions.ValidationException;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.types.Types;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code state.<stream>} equal to the source a stream of change events describes: one row per key, as of the
 * last change. Each event is an after-image (a before-image for a delete) with {@code __op}: {@code c}, {@code u},
 * {@code r} (read by a snapshot) upsert the row, {@code d} deletes it, {@code t} empties the table (a TRUNCATE at the
 * source); an event without {@code __op} is an upsert. Every commit interval the changes read are merged
 * copy-on-write: the data files that may hold a changed key (by their column bounds) are read, and rewritten without
 * the changed keys and with the new rows, in one Iceberg overwrite whose summary records the bus offsets it covers —
 * so a restart resumes exactly after the last commit, and a query (which reads data files only) always sees whole
 * rows, never a delete file it would not apply.
 */
final class StateTableWriter extends BusWriter {
    private static final Logger LOG = LoggerFactory.getLogger(StateTableWriter.class);
    static final Namespace STATE = Namespace.of("state");
    static final String OP = "__op";
    static final String DELETED = "__deleted";

    private final StreamSpec stream;
    private final String keyField;
    private final IcebergLake lake;
    private final EventBus eventBus;
    private final Duration commitInterval;
    private final long targetFileSize;
    private final Counter upserts;
    private final Counter deletes;
    private final Counter skipped;
    private final Counter commits;
    private final AtomicLong lag = new AtomicLong();
    private Table table;
    /** The changes read since the last commit, by key; the last one of a key wins. */
    private final LinkedHashMap<String, Change> pending = new LinkedHashMap<>();
    private boolean truncatePending;
    private final Map<Integer, Long> next = new HashMap<>();
    private Map<Integer, Long> committed = Map.of();
    private long fileSequence;

    private record Change(boolean delete, ObjectNode row, int partition, long offset, OffsetDateTime ingestedAt) {}

    StateTableWriter(StreamSpec stream, IcebergLake lake, EventBus eventBus, Duration commitInterval, long targetFileSize,
            MeterRegistry meters) {
        this.stream = stream;
        this.keyField = stream.key().orElseThrow(() -> new IllegalArgumentException("state." + stream.name() + " needs a key"));
        this.lake = lake;
        this.eventBus = eventBus;
        this.commitInterval = commitInterval;
        this.targetFileSize = targetFileSize;
        String name = stream.name();
        upserts = Counter.builder("watershed.state.upserts").tag("stream", name).description("Rows upserted into state.<stream>")
                .register(meters);
        deletes = Counter.builder("watershed.state.deletes").tag("stream", name).description("Rows deleted from state.<stream>")
                .register(meters);
        skipped = Counter.builder("watershed.state.skipped").tag("stream", name)
                .description("Change events state.<stream> could not apply (no key, no value, not JSON, a type conflict); see the log")
                .register(meters);
        commits = Counter.builder("watershed.state.commits").tag("stream", name).description("Commits of state.<stream>")
                .register(meters);
        Gauge.builder("watershed.state.lag.offsets", lag, AtomicLong::get).tag("stream", name)
                .description("Change events in the bus not yet applied to state.<stream>").register(meters);
    }

    @Override
    protected void failed(RuntimeException e) {
        LOG.error("state.{}: the writer failed; it restarts from its last commit in 5s", stream.name(), e);
        pending.clear();
        truncatePending = false;
    }

    @Override
    protected void runOnce() {
        table = loadOrCreate();
        lake.refreshView(table);
        committed = CommittedOffsets.of(table);
        next.clear();
        pending.clear();
        truncatePending = false;
        try (BusReader bus = eventBus.reader("watershed-state-" + stream.name(), BusReader.Pace.BULK)) {
            reader = bus;
            Map<BusPartition, Long> beginnings = assignAll(bus, stream.topic());
            for (BusPartition tp : beginnings.keySet()) {
                long from = Math.max(committed.getOrDefault(tp.partition(), 0L), beginnings.get(tp));
                bus.seek(tp, from);
                next.put(tp.partition(), from);
            }
            LOG.info("state.{} resumes at offsets {}", stream.name(), next);
            long lastCommit = System.nanoTime();
            Map<BusPartition, Long> drainTo = null;
            try {
                while (true) {
                    if (abandoned) {
                        break;
                    }
                    if (!running) {
                        if (drainTo == null) {
                            drainTo = bus.endOffsets(bus.assignment(), Duration.ofSeconds(5));
                        }
                        boolean caughtUp = true;
                        for (Map.Entry<BusPartition, Long> e : drainTo.entrySet()) {
                            caughtUp &= bus.position(e.getKey()) >= e.getValue();
                        }
                        if (caughtUp) {
                            break;
                        }
                    }
                    for (BusRecord record : bus.poll(Duration.ofMillis(200))) {
                        read(record);
                    }
                    if (System.nanoTime() - lastCommit >= commitInterval.toNanos()) {
                        commit();
                        updateLag(bus);
                        lastCommit = System.nanoTime();
                    }
                }
            } catch (BusReader.WokenUp e) {
                // commit what was read
            }
            if (!abandoned) {
                commit();
            }
        } finally {
            reader = null;
        }
    }

    private void updateLag(BusReader bus) {
        long behind = 0;
        for (Map.Entry<BusPartition, Long> end : bus.endOffsets(bus.assignment(), Duration.ofSeconds(5)).entrySet()) {
            behind += Math.max(0, end.getValue() - committed.getOrDefault(end.getKey().partition(), 0L));
        }
        lag.set(behind);
    }

    private void read(BusRecord record) {
        next.put(record.partition(), record.offset() + 1);
        BusRecordKind kind = record.kind();
        if (kind == BusRecordKind.EMPTY) {
            skip(record, "a null value");
            return;
        }
        if (kind != BusRecordKind.EVENT) {
            return; // no change: a no-op, or a dead letter (raw.<stream>__dlq keeps it)
        }
        JsonNode node;
        try {
            node = StreamLakeWriter.JSON.readTree(record.value());
        } catch (IOException e) {
            skip(record, "not valid JSON");
            return;
        }
        if (!(node instanceof ObjectNode event)) {
            skip(record, "not a JSON object");
            return;
        }
        String op = event.path(OP).asText("u");
        boolean delete = op.equals("d") || event.path(DELETED).asText().equals("true");
        if (op.equals("t")) {
            pending.clear();
            truncatePending = true;
            return;
        }
        JsonNode key = event.get(keyField);
        if (key == null || key.isNull() || key.isContainerNode()) {
            skip(record, "no value in its key field '" + keyField + "'");
            return;
        }
        event.remove(OP);
        event.remove(DELETED);
        String k = key.asText();
        pending.remove(k); // keep the order of last changes
        pending.put(k, new Change(delete, event, record.partition(), record.offset(),
                OffsetDateTime.ofInstant(Instant.ofEpochMilli(record.timestamp()), ZoneOffset.UTC)));
    }

    private void skip(BusRecord record, String reason) {
        skipped.increment();
        LOG.warn("state.{}: change event {}/{} is not applied: {} (it is kept in raw.{} or its __dlq)", stream.name(),
                record.partition(), record.offset(), reason, stream.name());
    }

    private void commit() {
        if (pending.isEmpty() && !truncatePending && next.equals(committed)) {
            return;
        }
        if (pending.isEmpty() && !truncatePending) {
            // only records that are no change (no-op records, dead letters): record the offsets, rewrite nothing
            org.apache.iceberg.AppendFiles advance = table.newAppend();
            advance.set(CommittedOffsets.SUMMARY_KEY, CommittedOffsets.encode(next));
            advance.validateWith(CommittedOffsets.unchangedSince(committed));
            lake.commit(() -> {
                advance.commit();
                return null;
            });
            committed = new HashMap<>(next);
            return;
        }
        for (int attempt = 1; ; attempt++) {
            try {
                merge();
                break;
            } catch (CommitFailedException | ValidationException e) {
                if (attempt >= 5 || CommittedOffsets.fenced(e)) {
                    throw e;
                }
                LOG.info("state.{}: a concurrent commit (compaction) touched the same files; merging again ({})", stream.name(),
                        e.getMessage());
                table.refresh();
            }
        }
        long applied = pending.values().stream().filter(c -> !c.delete).count();
        upserts.increment(applied);
        deletes.increment(pending.size() - applied);
        commits.increment();
        committed = new HashMap<>(next);
        pending.clear();
        truncatePending = false;
        lake.refreshView(table);
    }

    /** One copy-on-write overwrite: the files that may hold a changed key, rewritten with the changes applied. */
    private void merge() {
        table.refresh();
        evolveFor(pending.values());
        Schema schema = table.schema();
        RawSchema.Columns columns = RawSchema.Columns.of(schema);
        Types.NestedField keyColumn = columns.column(keyField);
        String keyName = keyColumn != null ? keyColumn.name() : keyField;
        Snapshot base = table.currentSnapshot();
        List<DataFile> rewritten = new ArrayList<>();
        List<Record> rows = new ArrayList<>();
        if (base != null) {
            List<Object> keys = new ArrayList<>();
            boolean allKeysTyped = keyColumn != null;
            for (Change change : pending.values()) {
                Object value = keyValue(keyColumn, change.row.get(keyField));
                if (value != null) {
                    keys.add(value);
                } else {
                    allKeysTyped = false; // a key of another type ("50" for an int column): read every file, match by text
                }
            }
            var scan = table.newScan().useSnapshot(base.snapshotId());
            if (!truncatePending && allKeysTyped) {
                scan = scan.filter(Expressions.in(keyName, keys.toArray()));
            }
            try (CloseableIterable<FileScanTask> tasks = scan.planFiles()) {
                for (FileScanTask task : tasks) {
                    rewritten.add(task.file());
                    if (truncatePending) {
                        continue;
                    }
                    try (CloseableIterable<Record> records = LakeFiles.read(table, task.file(), schema)) {
                        for (Record r : records) {
                            Object key = r.getField(keyName);
                            if (key == null || !pending.containsKey(key.toString())) {
                                rows.add(r.copy());
                            }
                        }
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read the files of state." + stream.name(), e);
            }
        }
        for (Change change : pending.values()) {
            if (!change.delete) {
                try {
                    rows.add(RawSchema.toRecord(columns, change.row, change.partition, change.offset, change.ingestedAt));
                } catch (RawSchema.Conflict conflict) {
                    skipped.increment();
                    LOG.warn("state.{}: the change of key {} is not applied: {}", stream.name(), change.row.get(keyField),
                            conflict.getMessage());
                }
            }
        }
        rows.sort(Comparator.comparing(r -> r.getField(keyName) == null ? "" : String.valueOf(r.getField(keyName)),
                StateTableWriter::compareKeys));
        List<DataFile> written = new ArrayList<>();
        if (!rows.isEmpty()) {
            FanoutDataWriter<Record> writer = LakeFiles.writer(table, targetFileSize, 1,
                    System.currentTimeMillis() * 1000 + (fileSequence++ % 1000));
            org.apache.iceberg.PartitionKey partitionKey = new org.apache.iceberg.PartitionKey(table.spec(), schema);
            org.apache.iceberg.data.InternalRecordWrapper wrapper = new org.apache.iceberg.data.InternalRecordWrapper(schema.asStruct());
            try {
                for (Record row : rows) {
                    partitionKey.partition(wrapper.wrap(row));
                    writer.write(row, table.spec(), partitionKey);
                }
            } finally {
                try {
                    writer.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            written.addAll(writer.result().dataFiles());
        }
        OverwriteFiles overwrite = table.newOverwrite();
        rewritten.forEach(overwrite::deleteFile);
        written.forEach(overwrite::addFile);
        if (base != null) {
            overwrite.validateFromSnapshot(base.snapshotId()).validateNoConflictingData().validateNoConflictingDeletes();
        }
        overwrite.set(CommittedOffsets.SUMMARY_KEY, CommittedOffsets.encode(next));
        overwrite.validateWith(CommittedOffsets.unchangedSince(committed));
        lake.commit(() -> {
            overwrite.commit();
            return null;
        });
    }

    /** Numbers by value, the rest as text, so that the files of an integer key hold ranges that do not overlap. */
    private static int compareKeys(String a, String b) {
        try {
            return new java.math.BigDecimal(a).compareTo(new java.math.BigDecimal(b));
        } catch (NumberFormatException e) {
            return a.compareTo(b);
        }
    }

    private static Object keyValue(Types.NestedField column, JsonNode value) {
        if (column == null || value == null || value.isNull()) {
            return null;
        }
        try {
            return RawSchema.convert(column.name(), column.type(), value);
        } catch (RawSchema.Conflict e) {
            return null;
        }
    }

    private void evolveFor(java.util.Collection<Change> changes) {
        // each change is worked out on the schema the changes before it make, so two never name one new column
        RawSchema.Columns columns = RawSchema.Columns.of(table.schema());
        List<RawSchema.Addition> additions = new ArrayList<>();
        List<String> widen = new ArrayList<>();
        for (Change change : changes) {
            if (change.delete) {
                continue;
            }
            try {
                RawSchema.Changes c = RawSchema.changesFor(columns, change.row, stream.fields());
                if (c.additions().isEmpty() && c.widenToLong().isEmpty()) {
                    continue;
                }
                additions.addAll(c.additions());
                c.widenToLong().forEach(w -> {
                    if (!widen.contains(w)) {
                        widen.add(w);
                    }
                });
                columns = RawSchema.Columns.of(RawSchema.evolved(columns.schema(), new RawSchema.Changes(c.additions(),
                        c.widenToLong(), List.of())));
            } catch (RawSchema.Conflict conflict) {
                // reported when the row is built
            }
        }
        for (int i = 0; i < additions.size(); i++) {
            RawSchema.Addition added = additions.get(i);
            if (widen.remove(added.column())) {
                additions.set(i, new RawSchema.Addition(added.column(), Types.LongType.get(), added.doc())); // added as long at once
            }
        }
        if (additions.isEmpty() && widen.isEmpty()) {
            return;
        }
        lake.commit(() -> {
            table.refresh();
            UpdateSchema update = table.updateSchema();
            additions.forEach(added -> {
                if (table.schema().findField(added.column()) == null) {
                    update.addColumn(added.column(), added.type(), added.doc());
                }
            });
            widen.forEach(name -> update.updateColumn(name, Types.LongType.get()));
            update.commit();
            return null;
        });
        table.refresh();
        LOG.info("state.{}: schema evolved (added {}, widened to long {})", stream.name(),
                additions.stream().map(RawSchema.Addition::column).toList(), widen);
    }

    private Table loadOrCreate() {
        TableIdentifier id = TableIdentifier.of(STATE, stream.name());
        if (!lake.catalog().namespaceExists(STATE)) {
            try {
                lake.catalog().createNamespace(STATE);
            } catch (AlreadyExistsException ignored) {
                // created concurrently
            }
        }
        if (lake.catalog().tableExists(id)) {
            return lake.catalog().loadTable(id);
        }
        Schema schema = RawSchema.withDeclared(RawSchema.initial(), stream.fields());
        try {
            return lake.commit(() -> lake.catalog().buildTable(id, schema)
                    .withProperty(TableProperties.FORMAT_VERSION, "2")
                    .withProperty(TableProperties.PARQUET_COMPRESSION, "zstd")
                    .withProperty(TableProperties.COMMIT_NUM_RETRIES, "10")
                    .withProperty("watershed.stream", stream.name())
                    .withProperty("watershed.key", keyField)
                    .create());
        } catch (AlreadyExistsException e) {
            return lake.catalog().loadTable(id);
        }
    }

}
