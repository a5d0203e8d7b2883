package io.watershed.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.watershed.lake.IcebergLake;
import io.watershed.lake.LakeUpkeep;
import io.watershed.query.DuckDbQueryEngine;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.Secret;
import io.watershed.spi.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.types.Types;

/**
 * The lake-upkeep benchmark, in one JVM on the real Iceberg catalog and Watershed's DuckDB query engine:
 * <ol>
 *   <li>the same query over a table of 5,000 small files, over that table after {@code watershed tables compact},
 *       and over the same rows written fresh as one table (the peer), alternating, best of five;</li>
 *   <li>a simulated day of one-second commits (one small file each) with an upkeep pass every simulated
 *       minute, as {@code lake.upkeep_interval: 1m} does: the table's file count against the uncompacted count.</li>
 * </ol>
 * Writes its table into {@code docs/benchmarks.md}.
 */
public final class UpkeepBenchmark {
    private static final int SMALL_FILES = 5_000;
    private static final int ROWS_PER_SMALL_FILE = 200;
    private static final int ROUNDS = 5;
    private static final Schema SCHEMA = new Schema(
            Types.NestedField.required(1, "_partition", Types.IntegerType.get()),
            Types.NestedField.required(2, "_offset", Types.LongType.get()),
            Types.NestedField.required(3, "_ingested_at", Types.TimestampType.withZone()),
            Types.NestedField.optional(4, "user", Types.StringType.get()),
            Types.NestedField.optional(5, "page", Types.StringType.get()),
            Types.NestedField.optional(6, "amount", Types.DoubleType.get()));
    private static final String QUERY = "SELECT count(*) AS n, round(sum(amount), 2) AS total, count(DISTINCT user) AS users, "
            + "count(*) FILTER (WHERE page = 'p17') AS p17 FROM bench.%s";

    public static void main(String[] args) throws Exception {
        long simulatedSeconds = args.length > 0 && !args[0].isBlank() ? Long.parseLong(args[0]) : 3_600;
        Path out = Path.of(args.length > 1 ? args[1] : "docs/benchmarks.md");
        Path work = Files.createTempDirectory("watershed-upkeep-bench");
        OffsetDateTime day = OffsetDateTime.now(ZoneOffset.UTC).withHour(0).withMinute(0).withSecond(0).withNano(0);
        String table;
        try (IcebergLake lake = new IcebergLake(work.resolve("lake"));
                DuckDbQueryEngine engine = new DuckDbQueryEngine(lake, work.resolve("duckdb"), Duration.ofMinutes(10), "1GB")) {
            lake.catalog().createNamespace(Namespace.of("bench"));
            Table small = create(lake, "small");
            Table fresh = create(lake, "fresh");
            long t0 = System.nanoTime();
            List<DataFile> smallFiles = new ArrayList<>();
            List<Record> all = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(11);
            long offset = 0;
            for (int f = 0; f < SMALL_FILES; f++) {
                List<Record> rows = new ArrayList<>();
                for (int i = 0; i < ROWS_PER_SMALL_FILE; i++) {
                    rows.add(row(offset++, day.plusSeconds(f), random));
                }
                smallFiles.add(write(small, rows, f));
                all.addAll(rows);
                if (smallFiles.size() == 500 || f == SMALL_FILES - 1) {
                    AppendFiles append = small.newAppend();
                    smallFiles.forEach(append::appendFile);
                    append.commit();
                    smallFiles.clear();
                }
            }
            AppendFiles append = fresh.newAppend();
            append.appendFile(write(fresh, all, 0));
            append.commit();
            all.clear();
            lake.refreshView(lake.catalog().loadTable(TableIdentifier.of("bench", "small")));
            lake.refreshView(lake.catalog().loadTable(TableIdentifier.of("bench", "fresh")));
            System.err.printf(Locale.ROOT, "wrote %,d rows as %,d small files and as one fresh file in %.1f s%n",
                    (long) SMALL_FILES * ROWS_PER_SMALL_FILE, SMALL_FILES, (System.nanoTime() - t0) / 1e9);

            String expected = answer(engine, "fresh");
            if (!answer(engine, "small").equals(expected)) {
                throw new IllegalStateException("the small-file table answers differently: " + answer(engine, "small"));
            }
            List<Long> smallMs = new ArrayList<>();
            List<Long> freshMs = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                smallMs.add(time(engine, "small"));
                freshMs.add(time(engine, "fresh"));
            }
            LakeUpkeep upkeep = new LakeUpkeep(lake, new Settings.Lake(Duration.ofSeconds(5), 128L << 20, Duration.ZERO, 10, Duration.ofDays(3),
                    Duration.ofDays(3), Optional.empty(), Optional.empty(), "us-east-1", false, Secret.of(""), Secret.of(""), 2L << 30),
                    id -> new LakeUpkeep.Policy(128L << 20, Optional.empty(), Optional.empty()), null,
                    new SimpleMeterRegistry(), Clock.systemUTC());
            LakeUpkeep.Result compaction = upkeep.compact("bench.small");
            System.err.printf(Locale.ROOT, "compacted %,d files into %d in %,d ms%n", compaction.filesRewritten(),
                    compaction.filesWritten(), compaction.millis());
            if (!answer(engine, "small").equals(expected)) {
                throw new IllegalStateException("the compacted table answers differently: " + answer(engine, "small"));
            }
            List<Long> compactedMs = new ArrayList<>();
            List<Long> freshAgainMs = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                compactedMs.add(time(engine, "small"));
                freshAgainMs.add(time(engine, "fresh"));
            }
            // each table is compared with the fresh one of the same phase: on a shared machine the phases differ
            long bestSmall = Collections.min(smallMs);
            long bestCompacted = Collections.min(compactedMs);
            long bestFreshBefore = Collections.min(freshMs);
            long bestFresh = Collections.min(freshAgainMs);

            // a simulated day passes in minutes of real time: snapshots are kept ten real seconds instead of three days
            LakeUpkeep dayUpkeep = new LakeUpkeep(lake, new Settings.Lake(Duration.ofSeconds(5), 128L << 20, Duration.ofMinutes(1), 10, Duration.ofSeconds(10),
                    Duration.ofDays(3), Optional.empty(), Optional.empty(), "us-east-1", false, Secret.of(""), Secret.of(""), 2L << 30),
                    id -> new LakeUpkeep.Policy(128L << 20, Optional.empty(), Optional.empty()), null,
                    new SimpleMeterRegistry(), Clock.systemUTC());
            Day simulated = simulateDay(lake, dayUpkeep, simulatedSeconds, day);
            BenchReport.headline("upkeep", String.format(Locale.ROOT, "Query after compacting %,d small files, best of %d (peer: the same rows "
                    + "written fresh as one file)", SMALL_FILES, ROUNDS), String.format(Locale.ROOT, "%,d ms", bestCompacted),
                    String.format(Locale.ROOT, "%,d ms", bestFresh), bestCompacted / (double) bestFresh, "≤ 1.15 (time)");
            table = String.format(Locale.ROOT, """
                    One JVM: the Iceberg JDBC catalog (SQLite), Watershed's DuckDB query engine
                    and its upkeep. Query: `%s`.

                    **Small files.** %,d rows in %,d Parquet files of %d rows (one day partition), compacted by
                    `watershed tables compact` (%,d files → %d in %,d ms), against the same rows written fresh as one file.
                    Best of %d, alternating.

                    | table | files | best | all rounds (ms) |
                    |---|---:|---:|---|
                    | 5,000 small files | %,d | %,d ms | %s |
                    | written fresh (peer), alternating with the small files | 1 | %,d ms | %s |
                    | the same table after compaction | %d | %,d ms | %s |
                    | written fresh (peer), alternating with the compacted table | 1 | %,d ms | %s |
                    | **compacted / fresh**, best of each (target ≤ 1.15×) | | **%.2f×** | |
                    | compacted / fresh, median of each | | %.2f× | |
                    | small files / fresh | | %.1f× | |

                    **Simulated time: %,d one-second commits** (a day is 86,400) of one small file each, an upkeep pass every 60 commits
                    (`lake.upkeep_interval: 1m`, `lake.compaction_min_files: 10`), in %.0f s of real time; snapshots are
                    kept ten real seconds (the simulated day passes in minutes).

                    | | data files |
                    |---|---:|
                    | without upkeep (one per commit) | %,d |
                    | with upkeep, at the end | %,d |
                    | with upkeep, most at any time (just before a pass) | %,d |
                    | **end / without** (target ≤ 10%%) | **%.3f%%** |
                    """, String.format(QUERY, "t"),
                    (long) SMALL_FILES * ROWS_PER_SMALL_FILE, SMALL_FILES, ROWS_PER_SMALL_FILE, compaction.filesRewritten(),
                    compaction.filesWritten(), compaction.millis(), ROUNDS, SMALL_FILES, bestSmall, smallMs, bestFreshBefore, freshMs,
                    compaction.filesAfter(), bestCompacted, compactedMs, bestFresh, freshAgainMs,
                    bestCompacted / (double) bestFresh, median(compactedMs) / median(freshAgainMs), bestSmall / (double) bestFreshBefore,
                    simulated.commits(),
                    simulated.realSeconds(), simulated.commits(), simulated.filesAtEnd(), simulated.mostFiles(),
                    100.0 * simulated.filesAtEnd() / simulated.commits());
        }
        BenchReport.writeSection(out, "UpkeepBenchmark", "Lake upkeep: small files, compaction, a simulated day", table);
        System.out.println(table);
        try (java.util.stream.Stream<Path> files = Files.walk(work)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    record Day(long commits, long filesAtEnd, long mostFiles, double realSeconds) {}

    private static double median(List<Long> values) {
        List<Long> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2.0;
    }

    /** One commit per simulated second; every 60th is followed by an upkeep pass over the table. */
    private static Day simulateDay(IcebergLake lake, LakeUpkeep upkeep, long seconds, OffsetDateTime day) throws Exception {
        Table table = create(lake, "day");
        SplittableRandom random = new SplittableRandom(13);
        long started = System.nanoTime();
        long most = 0;
        for (long second = 0; second < seconds; second++) {
            List<Record> rows = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                rows.add(row(second * 20 + i, day.plusSeconds(second % 86_400), random));
            }
            DataFile file = write(table, rows, (int) second);
            table.newAppend().appendFile(file).set("watershed.offsets", "0:" + (second * 20 + 20)).commit();
            if ((second + 1) % 60 == 0) {
                most = Math.max(most, files(table)); // the most there are: just before a pass
                upkeep.pass();
            }
            if ((second + 1) % 3_600 == 0) {
                System.err.printf(Locale.ROOT, "simulated hour %d: %d data files, %.0f s so far%n", (second + 1) / 3_600, files(table),
                        (System.nanoTime() - started) / 1e9);
            }
        }
        return new Day(seconds, files(table), most, (System.nanoTime() - started) / 1e9);
    }

    private static long files(Table table) {
        table.refresh();
        return Long.parseLong(table.currentSnapshot().summary().getOrDefault("total-data-files", "0"));
    }

    private static Table create(IcebergLake lake, String name) {
        return lake.catalog().createTable(TableIdentifier.of("bench", name), SCHEMA,
                PartitionSpec.builderFor(SCHEMA).day("_ingested_at").build(),
                Map.of("format-version", "2", "write.parquet.compression-codec", "zstd"));
    }

    private static Record row(long offset, OffsetDateTime at, SplittableRandom random) {
        GenericRecord r = GenericRecord.create(SCHEMA);
        r.setField("_partition", 0);
        r.setField("_offset", offset);
        r.setField("_ingested_at", at);
        r.setField("user", "u" + random.nextInt(50_000));
        r.setField("page", "p" + random.nextInt(100));
        r.setField("amount", random.nextInt(100_000) / 100.0);
        return r;
    }

    private static DataFile write(Table table, List<Record> rows, int task) throws Exception {
        GenericFileWriterFactory factory = new GenericFileWriterFactory.Builder(table).dataFileFormat(FileFormat.PARQUET)
                .dataSchema(table.schema()).build();
        OutputFileFactory outputs = OutputFileFactory.builderFor(table, 0, task).format(FileFormat.PARQUET).build();
        PartitionKey key = new PartitionKey(table.spec(), table.schema());
        key.partition(new InternalRecordWrapper(table.schema().asStruct()).wrap(rows.get(0)));
        DataWriter<Record> writer = factory.newDataWriter(outputs.newOutputFile(key), table.spec(), key);
        try (writer) {
            for (Record r : rows) {
                writer.write(r);
            }
        }
        return writer.toDataFile();
    }

    private static String answer(QueryEngine engine, String table) {
        return engine.query(String.format(QUERY, table), 10).rows().toString();
    }

    private static long time(QueryEngine engine, String table) {
        long t0 = System.nanoTime();
        answer(engine, table);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.err.printf(Locale.ROOT, "%s: %d ms%n", table, ms);
        return ms;
    }
}
