package io.watershed.lake;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.watershed.spi.BusPartition;
import io.watershed.spi.BusReader;
import io.watershed.spi.BusRecord;
import io.watershed.spi.BusRecordKind;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.UpdateSchema;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.types.Types;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lands one stream in {@code raw.<stream>}, exactly once. Reads the stream's topic from the offsets
 * the table's current snapshot records, writes Parquet files, and every commit interval commits
 * them in one Iceberg append whose summary records the offsets it covers. Records that cannot fit
 * go to {@code raw.<stream>__dlq} with the reason; that table is committed first and records its own
 * offsets, so after a crash between the two commits nothing is written twice to either. A stop lands what the
 * stream holds then (ingest is already closed) and commits; if draining takes longer than {@link #DRAIN_LIMIT}, it
 * commits what it has read and leaves the rest to the next start.
 */
final class StreamLakeWriter extends BusWriter {
    private static final Logger LOG = LoggerFactory.getLogger(StreamLakeWriter.class);
    /** Fractions as BigDecimal: a value beyond double's range is reported as sent, not as "Infinity". */
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    static final Duration DRAIN_LIMIT = Duration.ofSeconds(30);

    private final StreamSpec stream;
    private final IcebergLake lake;
    private final EventBus eventBus;
    private final Duration commitInterval;
    private final long targetFileSize;
    /** The stream's, not this writer's: a writer started again after its lease came back reports through the same gauge. */
    private final AtomicLong lag;
    /** The sum of the raw table's committed offsets (the next offset of each partition); -1 until read from the table. */
    private final AtomicLong committedTotal = new AtomicLong(-1);
    private final Counter rowsWritten;
    private final Counter dlqRows;
    private final Counter commits;
    private final Counter filesWritten;
    private final Counter failures;
    private final Counter expired;
    private final Timer commitTimer;

    private Table table;
    /** The table's columns by the event field each holds, of its current schema. */
    private RawSchema.Columns tableColumns;
    private Table dlqTable;
    private Map<Integer, Long> mainCommitted;
    private Map<Integer, Long> dlqCommitted;
    private DeadLetterOffsets replayedDeadLetters = DeadLetterOffsets.NONE;
    private final Map<Integer, Long> expiredCountedUpTo = new HashMap<>();
    private final Map<Integer, Long> next = new HashMap<>();
    private FanoutDataWriter<Record> mainWriter;
    private FanoutDataWriter<Record> dlqWriter;
    private final List<DataFile> pendingMain = new ArrayList<>();
    private final List<DataFile> pendingDlq = new ArrayList<>();
    private long pendingMainRows;
    private long pendingDlqRows;
    private PartitionKey mainKey;
    private InternalRecordWrapper mainWrapper;
    private long fileSequence;

    StreamLakeWriter(StreamSpec stream, IcebergLake lake, EventBus eventBus, Duration commitInterval, long targetFileSize,
            MeterRegistry meters) {
        this(stream, lake, eventBus, commitInterval, targetFileSize, meters, new AtomicLong());
    }

    StreamLakeWriter(StreamSpec stream, IcebergLake lake, EventBus eventBus, Duration commitInterval, long targetFileSize,
            MeterRegistry meters, AtomicLong lag) {
        this.lag = lag;
        this.stream = stream;
        this.lake = lake;
        this.eventBus = eventBus;
        this.commitInterval = commitInterval;
        this.targetFileSize = targetFileSize;
        String name = stream.name();
        this.rowsWritten = Counter.builder("watershed.lake.rows.written").tag("stream", name)
                .description("Rows committed to the raw lake table").register(meters);
        this.dlqRows = Counter.builder("watershed.lake.dlq.rows").tag("stream", name)
                .description("Records committed to the dead-letter table").register(meters);
        this.commits = Counter.builder("watershed.lake.commits").tag("stream", name)
                .description("Iceberg commits of the lake writer").register(meters);
        this.filesWritten = Counter.builder("watershed.lake.files.written").tag("stream", name)
                .description("Parquet data files committed").register(meters);
        this.expired = Counter.builder("watershed.lake.records.expired").tag("stream", name)
                .description("Records Kafka deleted (retention) before the lake committed them").register(meters);
        this.failures = Counter.builder("watershed.lake.writer.failures").tag("stream", name)
                .description("Times the lake writer failed and restarted from its last commit").register(meters);
        this.commitTimer = Timer.builder("watershed.lake.commit.duration").tag("stream", name).register(meters);
        Gauge.builder("watershed.lake.lag.offsets", lag, AtomicLong::get).strongReference(true).tag("stream", name)
                .description("Records in the bus not yet committed to the lake").register(meters);
    }

    long lag() {
        return lag.get();
    }

    /** How far the raw table has come: the sum over partitions of the next offset to commit; -1 before it is known. */
    long committedTotal() {
        return committedTotal.get();
    }

    private static long total(Map<Integer, Long> offsets) {
        long sum = 0;
        for (long o : offsets.values()) {
            sum += o;
        }
        return sum;
    }

    @Override
    protected void failed(RuntimeException e) {
        failures.increment();
        LOG.error("Lake writer for stream '{}' failed; it restarts from its last commit in 5s", stream.name(), e);
        abandonPending();
    }

    @Override
    protected void runOnce() {
        table = loadOrCreate(TableIdentifier.of(IcebergLake.RAW, stream.name()), RawSchema.initial(), true);
        dlqTable = loadOrCreate(TableIdentifier.of(IcebergLake.RAW, stream.name() + IcebergLake.DEAD_LETTER_SUFFIX), RawSchema.dlqSchema(), false);
        lake.refreshView(table);
        lake.refreshView(dlqTable);
        mainCommitted = CommittedOffsets.of(table);
        committedTotal.set(total(mainCommitted));
        dlqCommitted = CommittedOffsets.of(dlqTable);
        replayedDeadLetters = DeadLetterOffsets.between(dlqTable, mainCommitted, dlqCommitted);
        next.clear();
        try (BusReader bus = eventBus.reader("watershed-lake-" + stream.name(), BusReader.Pace.BULK)) {
            reader = bus;
            if (!running) {
                return;
            }
            Map<BusPartition, Long> beginnings = assignAll(bus, stream.topic());
            for (BusPartition tp : beginnings.keySet()) {
                long committed = mainCommitted.getOrDefault(tp.partition(), 0L);
                // a writer restart must not count the same expired range again
                long countedUpTo = Math.max(committed, expiredCountedUpTo.getOrDefault(tp.partition(), committed));
                if (countedUpTo < beginnings.get(tp)) {
                    long lost = beginnings.get(tp) - countedUpTo;
                    expired.increment(lost);
                    expiredCountedUpTo.put(tp.partition(), beginnings.get(tp));
                    LOG.error("raw.{}: Kafka no longer holds offsets {}..{} of partition {} (retention deleted them before "
                            + "the lake committed them); {} records cannot be landed. Lengthen the stream's retention.",
                            stream.name(), committed, beginnings.get(tp) - 1, tp.partition(), lost);
                }
                long from = Math.max(committed, beginnings.get(tp));
                bus.seek(tp, from);
                next.put(tp.partition(), from);
            }
            LOG.info("Lake writer for '{}' resumes at offsets {}", stream.name(), next);
            long lastCommit = System.nanoTime();
            Map<BusPartition, Long> drainTo = null;
            long drainDeadline = 0;
            try {
                while (true) {
                    if (abandoned) {
                        break;
                    }
                    if (!running) {
                        if (drainTo == null) {
                            drainTo = bus.endOffsets(bus.assignment(), Duration.ofSeconds(5));
                            drainDeadline = System.nanoTime() + DRAIN_LIMIT.toNanos();
                        }
                        if (caughtUp(bus, drainTo) || System.nanoTime() > drainDeadline) {
                            break;
                        }
                    }
                    for (BusRecord record : bus.poll(Duration.ofMillis(200))) {
                        land(record);
                    }
                    if (System.nanoTime() - lastCommit >= commitInterval.toNanos()) {
                        commit(bus);
                        lastCommit = System.nanoTime();
                    }
                }
            } catch (BusReader.WokenUp e) {
                // stop() gave up waiting for the drain: commit what was read
            }
            if (abandoned) {
                abandonPending();
                return;
            }
            commit(bus);
        } finally {
            reader = null;
        }
    }

    /** The writer's uncommitted state can no longer be trusted; the run restarts from the last commit. */
    private static final class WriterStateLost extends RuntimeException {
        WriterStateLost(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static boolean caughtUp(BusReader bus, Map<BusPartition, Long> targets) {
        for (Map.Entry<BusPartition, Long> target : targets.entrySet()) {
            if (bus.position(target.getKey()) < target.getValue()) {
                return false;
            }
        }
        return true;
    }

    private Table loadOrCreate(TableIdentifier id, Schema schema, boolean withDeclaredFields) {
        if (lake.catalog().tableExists(id)) {
            return lake.catalog().loadTable(id);
        }
        Schema finalSchema = withDeclaredFields ? RawSchema.withDeclared(schema, stream.fields()) : schema;
        try {
            return lake.commit(() -> lake.catalog().buildTable(id, finalSchema)
                    .withPartitionSpec(RawSchema.spec(finalSchema))
                    .withProperty(TableProperties.FORMAT_VERSION, "2")
                    .withProperty(TableProperties.PARQUET_COMPRESSION, "zstd")
                    .withProperty(TableProperties.COMMIT_NUM_RETRIES, "10")
                    .withProperty("watershed.stream", stream.name())
                    .create());
        } catch (AlreadyExistsException e) {
            return lake.catalog().loadTable(id);
        }
    }

    private void land(BusRecord record) {
        int partition = record.partition();
        long offset = record.offset();
        next.put(partition, offset + 1);
        BusRecordKind kind = record.kind();
        if (kind == BusRecordKind.NO_OP) {
            return; // not an event: it completed a transaction Kafka left open (see IdempotencyLog)
        }
        if (replayedDeadLetters.contains(partition, offset)) {
            return; // went to the dead-letter table before a crash; its row there is final
        }
        OffsetDateTime ingestedAt = OffsetDateTime.ofInstant(Instant.ofEpochMilli(record.timestamp()), ZoneOffset.UTC);
        if (kind == BusRecordKind.DEAD_LETTER) {
            // a source could not decode this input: its reason travels in the header, the input after one marker byte
            deadLetter(record, record.deadLetterInput(), ingestedAt, record.deadLetterReason());
            return;
        }
        ObjectNode event;
        try {
            // an EMPTY record (no value) is dead-lettered here, as BusRecordKind.EMPTY says
            JsonNode node = record.value() == null ? null : JSON.readTree(record.value());
            if (!(node instanceof ObjectNode object)) {
                deadLetter(record, ingestedAt, "the record is not a JSON object"
                        + (node == null ? " (null value)" : " (got " + node.getNodeType().name().toLowerCase() + ")"));
                return;
            }
            event = object;
        } catch (JsonProcessingException e) {
            deadLetter(record, ingestedAt, "the record is not valid JSON: " + e.getOriginalMessage());
            return;
        } catch (java.io.IOException e) {
            deadLetter(record, ingestedAt, "the record cannot be read: " + e.getMessage());
            return;
        }
        RawSchema.Changes changes;
        GenericRecord row;
        try {
            tableColumns = RawSchema.Columns.of(table.schema(), tableColumns);
            changes = RawSchema.changesFor(tableColumns, event, stream.fields());
            if (!changes.isEmpty()) {
                evolve(changes);
                tableColumns = RawSchema.Columns.of(table.schema(), tableColumns);
            }
            row = RawSchema.toRecord(tableColumns, event, partition, offset, ingestedAt);
        } catch (RawSchema.Conflict conflict) {
            deadLetter(record, ingestedAt, conflict.getMessage());
            return;
        } catch (WriterStateLost e) {
            throw e; // not the record's fault: restart from the last commit
        } catch (RuntimeException e) {
            if (LakeFailure.unreachable(e)) {
                // the catalog or the store failed (S3 down, a commit that lost a race): the record is not at fault
                throw new WriterStateLost("raw." + stream.name() + ": cannot evolve the table's schema for record " + partition
                        + "/" + offset + " now; the writer starts again from its last commit", e);
            }
            // a record must never stop the stream: whatever Iceberg refuses about it is its dead-letter reason
            LOG.warn("raw.{}: record {}/{} cannot be written and goes to the dead-letter table: {}", stream.name(), partition,
                    offset, e.toString());
            table.refresh();
            deadLetter(record, ingestedAt, "cannot be written to the lake: " + e.getMessage());
            return;
        }
        FanoutDataWriter<Record> writer = mainWriter();
        mainKey.partition(mainWrapper.wrap(row));
        writer.write(row, table.spec(), mainKey);
        io.watershed.spi.CrashPoints.reach(io.watershed.spi.CrashPoints.LAKE_MID_FILE);
        pendingMainRows++;
    }

    private FanoutDataWriter<Record> mainWriter() {
        if (mainWriter == null) {
            mainWriter = newWriter(table);
        }
        return mainWriter;
    }

    private FanoutDataWriter<Record> newWriter(Table target) {
        if (target == table) {
            mainKey = new PartitionKey(table.spec(), table.schema());
            mainWrapper = new InternalRecordWrapper(table.schema().asStruct());
        }
        return LakeFiles.writer(target, targetFileSize, 0, System.currentTimeMillis() * 1000 + (fileSequence++ % 1000));
    }

    private void evolve(RawSchema.Changes changes) {
        closeMainWriter();
        if (!changes.widenToDouble().isEmpty()) {
            try {
                widenToDouble(changes.widenToDouble());
            } catch (RuntimeException e) {
                throw new WriterStateLost("Cannot widen " + changes.widenToDouble() + " of raw." + stream.name() + " to double", e);
            }
        }
        if (!changes.additions().isEmpty() || !changes.widenToLong().isEmpty()) {
            lake.commit(() -> {
                table.refresh();
                UpdateSchema update = table.updateSchema();
                changes.additions().forEach(added -> update.addColumn(added.column(), added.type(), added.doc()));
                changes.widenToLong().forEach(name -> update.updateColumn(name, Types.LongType.get()));
                update.commit();
                return null;
            });
        }
        table.refresh();
        LOG.info("raw.{}: schema evolved (added {}, widened to long {}, to double {})", stream.name(), changes.added(),
                changes.widenToLong(), changes.widenToDouble());
        mainKey = new PartitionKey(table.spec(), table.schema());
        mainWrapper = new InternalRecordWrapper(table.schema().asStruct());
    }

    /**
     * Iceberg cannot promote int or long to double, so the column is replaced: one transaction drops it,
     * adds it back as double, and rewrites every committed data file with the values converted, keeping
     * the snapshot's offsets. Files written since the last commit are rewritten too and stay pending.
     */
    private void widenToDouble(List<String> columns) {
        Schema oldSchema = table.schema();
        List<DataFile> committed = new ArrayList<>();
        if (table.currentSnapshot() != null) {
            try (var tasks = table.newScan().planFiles()) {
                tasks.forEach(task -> committed.add(task.file()));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("Cannot list the files of raw." + stream.name(), e);
            }
        }
        org.apache.iceberg.Transaction transaction = table.newTransaction();
        UpdateSchema drop = transaction.updateSchema();
        columns.forEach(drop::deleteColumn);
        drop.commit();
        UpdateSchema add = transaction.updateSchema();
        // the doc names the field a renamed column holds: the column keeps it
        columns.forEach(c -> add.addColumn(c, Types.DoubleType.get(), oldSchema.findField(c).doc()));
        add.commit();
        Table widened = transaction.table();
        if (!committed.isEmpty()) {
            List<DataFile> rewritten = rewrite(committed, oldSchema, widened, columns);
            // compaction may have replaced these files meanwhile: then the commit fails (and the writer restarts
            // from its last commit) instead of keeping both the compacted copy and the rewritten one
            org.apache.iceberg.OverwriteFiles overwrite = transaction.newOverwrite()
                    .validateFromSnapshot(table.currentSnapshot().snapshotId())
                    .conflictDetectionFilter(org.apache.iceberg.expressions.Expressions.alwaysTrue())
                    .validateNoConflictingData();
            committed.forEach(overwrite::deleteFile);
            rewritten.forEach(overwrite::addFile);
            overwrite.set(CommittedOffsets.SUMMARY_KEY, CommittedOffsets.encode(mainCommitted));
            overwrite.set(CommittedOffsets.TOPIC_KEY, stream.topic());
            overwrite.set("watershed.operation", "widen " + columns + " to double");
            overwrite.commit();
        }
        lake.commit(() -> {
            transaction.commitTransaction();
            return null;
        });
        table.refresh();
        List<DataFile> oldPending = new ArrayList<>(pendingMain);
        List<DataFile> rewrittenPending = rewrite(oldPending, oldSchema, table, columns);
        pendingMain.clear();
        pendingMain.addAll(rewrittenPending);
        oldPending.forEach(f -> table.io().deleteFile(f.location()));
        lake.refreshView(table);
        LOG.info("raw.{}: widened {} to double; rewrote {} committed and {} pending file(s) in one commit", stream.name(), columns,
                committed.size(), oldPending.size());
    }

    private List<DataFile> rewrite(List<DataFile> files, Schema oldSchema, Table target, List<String> toDouble) {
        Schema newSchema = target.schema();
        PartitionKey key = new PartitionKey(target.spec(), newSchema);
        InternalRecordWrapper wrapper = new InternalRecordWrapper(newSchema.asStruct());
        FanoutDataWriter<Record> writer = newWriter(target);
        List<DataFile> out = new ArrayList<>();
        try {
            for (DataFile file : files) {
                try (org.apache.iceberg.io.CloseableIterable<Record> rows = LakeFiles.read(target, file, oldSchema)) {
                    for (Record old : rows) {
                        GenericRecord row = GenericRecord.create(newSchema);
                        for (Types.NestedField field : newSchema.columns()) {
                            Object value = old.getField(field.name());
                            row.setField(field.name(), value != null && toDouble.contains(field.name())
                                    ? ((Number) value).doubleValue() : value);
                        }
                        key.partition(wrapper.wrap(row));
                        writer.write(row, target.spec(), key);
                    }
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("Cannot rewrite the files of raw." + stream.name(), e);
        } finally {
            close(writer, out);
        }
        return out;
    }

    private void deadLetter(BusRecord record, OffsetDateTime ingestedAt, String reason) {
        deadLetter(record, record.value() == null ? null : new String(record.value(), StandardCharsets.UTF_8), ingestedAt, reason);
    }

    private void deadLetter(BusRecord record, String raw, OffsetDateTime ingestedAt, String reason) {
        if (dlqWriter == null) {
            dlqWriter = newWriter(dlqTable);
        }
        GenericRecord row = GenericRecord.create(dlqTable.schema());
        row.setField(RawSchema.PARTITION, record.partition());
        row.setField(RawSchema.OFFSET, record.offset());
        row.setField(RawSchema.INGESTED_AT, ingestedAt);
        row.setField("raw", raw);
        row.setField("reason", reason);
        row.setField("failed_at", OffsetDateTime.now(ZoneOffset.UTC));
        PartitionKey key = new PartitionKey(dlqTable.spec(), dlqTable.schema());
        key.partition(new InternalRecordWrapper(dlqTable.schema().asStruct()).wrap(row));
        dlqWriter.write(row, dlqTable.spec(), key);
        pendingDlqRows++;
    }

    private void closeMainWriter() {
        if (mainWriter != null) {
            close(mainWriter, pendingMain);
            mainWriter = null;
        }
    }

    private static void close(FanoutDataWriter<Record> writer, List<DataFile> into) {
        try {
            writer.close();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("Cannot close a Parquet writer", e);
        }
        into.addAll(writer.result().dataFiles());
    }

    private void commit(BusReader bus) {
        // every polled record has been landed: the reader's position is where the next run starts
        // (it is past transaction markers too, which carry no record)
        for (BusPartition tp : bus.assignment()) {
            next.put(tp.partition(), bus.position(tp));
        }
        closeMainWriter();
        if (dlqWriter != null) {
            close(dlqWriter, pendingDlq);
            dlqWriter = null;
        }
        boolean advanced = !next.equals(mainCommitted) && (pendingMainRows > 0 || pendingDlqRows > 0);
        if (advanced || !pendingMain.isEmpty() || !pendingDlq.isEmpty()) {
            Timer.Sample sample = Timer.start();
            String offsets = CommittedOffsets.encode(next);
            if (!pendingDlq.isEmpty()) {
                Map<Integer, Long> dlqOffsets = DeadLetterOffsets.afterCommit(dlqCommitted, next);
                append(dlqTable, pendingDlq, dlqCommitted, CommittedOffsets.encode(dlqOffsets));
                dlqCommitted = dlqOffsets;
                dlqRows.increment(pendingDlqRows);
                io.watershed.spi.CrashPoints.reach(io.watershed.spi.CrashPoints.LAKE_AFTER_DEAD_LETTER_COMMIT);
            }
            append(table, pendingMain, mainCommitted, offsets);
            io.watershed.spi.CrashPoints.reach(io.watershed.spi.CrashPoints.LAKE_AFTER_COMMIT);
            mainCommitted = new HashMap<>(next);
            committedTotal.set(total(mainCommitted));
            rowsWritten.increment(pendingMainRows);
            filesWritten.increment(pendingMain.size() + pendingDlq.size());
            commits.increment();
            sample.stop(commitTimer);
            lake.refreshView(table);
            if (!pendingDlq.isEmpty()) {
                lake.refreshView(dlqTable);
            }
            pendingMain.clear();
            pendingDlq.clear();
            pendingMainRows = 0;
            pendingDlqRows = 0;
            Map<BusPartition, Long> forGroup = new HashMap<>();
            next.forEach((p, o) -> forGroup.put(new BusPartition(stream.topic(), p), o));
            // informational only (kafka-consumer-groups shows the lake's progress); the truth is in Iceberg
            bus.recordProgress(forGroup, error ->
                    LOG.debug("Cannot record lake progress in consumer group of {}: {}", stream.topic(), error.toString()));
        }
        updateLag(bus);
    }

    /** Commits {@code files} and {@code offsets} to {@code target}, fenced: only while it still ends at {@code base}. */
    private void append(Table target, List<DataFile> files, Map<Integer, Long> base, String offsets) {
        lake.commit(() -> {
            AppendFiles append = target.newAppend();
            files.forEach(append::appendFile);
            append.validateWith(CommittedOffsets.unchangedSince(base));
            append.set(CommittedOffsets.SUMMARY_KEY, offsets);
            append.set(CommittedOffsets.TOPIC_KEY, stream.topic());
            io.watershed.spi.CrashPoints.reach(io.watershed.spi.CrashPoints.LAKE_BEFORE_COMMIT);
            append.commit();
            return null;
        });
    }

    private void updateLag(BusReader bus) {
        try {
            Map<BusPartition, Long> ends = bus.endOffsets(bus.assignment(), Duration.ofSeconds(5));
            long total = 0;
            for (Map.Entry<BusPartition, Long> end : ends.entrySet()) {
                // called right after a commit: everything consumed so far is committed (or was a transaction marker)
                total += Math.max(0, end.getValue() - next.getOrDefault(end.getKey().partition(), 0L));
            }
            lag.set(total);
        } catch (RuntimeException e) {
            LOG.debug("Cannot read end offsets of {}", stream.topic(), e);
        }
    }

    private void abandonPending() {
        for (FanoutDataWriter<Record> writer : new FanoutDataWriter[] {mainWriter, dlqWriter}) {
            if (writer != null) {
                try {
                    writer.close();
                } catch (Exception ignored) {
                    // the files are orphans either way; the next run rewrites their records
                }
            }
        }
        mainWriter = null;
        dlqWriter = null;
        pendingMain.clear();
        pendingDlq.clear();
        pendingMainRows = 0;
        pendingDlqRows = 0;
    }
}
