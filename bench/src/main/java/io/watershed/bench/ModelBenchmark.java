package io.watershed.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.lake.IcebergLake;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.WatershedHttp;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.types.Types;

/**
 * The batch-layer benchmark: one model (sales per day and store: count, sum, count distinct) over a lake
 * table of N rows, built by {@code watershed up} in its own JVM, beside DuckDB in this JVM computing the
 * same result from the same Parquet files and writing it as Parquet. Alternating, three rounds each, after
 * one cold build. Writes its table into {@code docs/benchmarks.md}.
 */
public final class ModelBenchmark {
    private static final int ROUNDS = 3;
    private static final String MODEL = """
            SELECT `day`, store, COUNT(*) AS sales, SUM(amount) AS revenue, COUNT(DISTINCT product) AS products
            FROM bench.sales
            GROUP BY `day`, store
            """;
    private static final String PEER = "SELECT day, store, count(*) AS sales, sum(amount) AS revenue, count(DISTINCT product) AS products "
            + "FROM read_parquet(%s) GROUP BY day, store";

    public static void main(String[] args) throws Exception {
        long rows = args.length > 0 ? Long.parseLong(args[0]) : 10_000_000;
        Path out = Path.of(args.length > 1 ? args[1] : "docs/benchmarks.md");
        Path work = Files.createTempDirectory("watershed-model-bench");
        Path data = work.resolve("data");
        Path project = work.resolve("project");
        Files.createDirectories(project.resolve("models"));
        Files.writeString(project.resolve("watershed.yaml"), "name: models\nhttp:\n  port: " + FoundationBenchmark.freePort()
                + "\nbus:\n  port: 0\ningest:\n  forward_port: 0\nmodels:\n  retries: 0\n");
        Files.writeString(project.resolve("models/store_daily.sql"), MODEL);

        long t0 = System.nanoTime();
        List<String> files = writeSales(data, rows);
        System.err.printf(Locale.ROOT, "wrote %,d rows in %d Parquet files in %.1f s%n", rows, files.size(), (System.nanoTime() - t0) / 1e9);
        String peerSql = String.format(PEER, "[" + String.join(", ", files.stream().map(f -> "'" + f + "'").toList()) + "]");

        List<Long> model = new ArrayList<>();
        List<Long> peer = new ArrayList<>();
        long cold;
        String distribution = "watershed-cli/target/watershed-cli.jar:watershed-cli/target/lib/*";
        try (PlatformProcess platform = PlatformProcess.start(project, data, work.resolve("platform.log"), List.of("-Xmx2g"), distribution);
                Connection duck = DriverManager.getConnection("jdbc:duckdb:")) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            cold = build(http);
            for (int round = 0; round < ROUNDS; round++) {
                peer.add(peer(duck, peerSql, work.resolve("peer-" + round + ".parquet")));
                model.add(build(http));
            }
            // the same answer: groups, and the sums to the cent
            String ours = http.rows("SELECT count(*), round(sum(revenue), 2), sum(sales), sum(products) FROM models.store_daily").get(0);
            String theirs;
            try (Statement s = duck.createStatement(); ResultSet r = s.executeQuery("SELECT count(*), round(sum(revenue), 2), "
                    + "sum(sales), sum(products) FROM read_parquet('" + work.resolve("peer-0.parquet") + "')")) {
                r.next();
                theirs = r.getLong(1) + " " + r.getBigDecimal(2).stripTrailingZeros().toPlainString() + " " + r.getLong(3) + " "
                        + r.getLong(4);
            }
            if (!normalise(ours).equals(normalise(theirs))) {
                throw new IllegalStateException("the model and DuckDB disagree: " + ours + " vs " + theirs);
            }
            System.err.println("results agree: " + ours);
        }
        long bestModel = Collections.min(model);
        long bestPeer = Collections.min(peer);
        String table = String.format(Locale.ROOT, """
                %,d rows (sale_id, day, store, product, amount) in %d Parquet files (zstd) of one
                Iceberg table. The model `store_daily` groups them by day and store (count, sum, count distinct) into 3,650 rows.

                | | best of %d | all rounds (ms) |
                |---|---:|---|
                | Watershed model build (Flink batch, parallelism %d, Iceberg commit) | %,d ms | %s |
                | DuckDB on the same Parquet files, result written as Parquet | %,d ms | %s |
                | **ratio (model / DuckDB)** | **%.1f×** | |
                | first build after start (cold: planner and job start-up) | %,d ms | |
                """, rows, files.size(), ROUNDS,
                Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())), bestModel, model, bestPeer, peer,
                bestModel / (double) bestPeer, cold);
        BenchReport.headline("models", String.format(Locale.ROOT, "Model build over %,d rows, best of %d (peer: DuckDB on the same Parquet)",
                rows, ROUNDS), String.format(Locale.ROOT, "%,d ms", bestModel), String.format(Locale.ROOT, "%,d ms", bestPeer),
                bestModel / (double) bestPeer, "— (time: lower is better)");
        BenchReport.writeSection(out, "ModelBenchmark", "Batch layer: a model over " + String.format(Locale.ROOT, "%,d", rows)
                + " rows", table);
        System.out.println(table);
        if (System.getenv("KEEP") != null) { return; }
        try (java.util.stream.Stream<Path> all = Files.walk(work)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static String normalise(String line) {
        StringBuilder out = new StringBuilder();
        for (String part : line.split(" ")) {
            out.append(new java.math.BigDecimal(part).stripTrailingZeros().toPlainString()).append(' ');
        }
        return out.toString().strip();
    }

    /** One build of store_daily; its step's duration in ms (job submission to commit). */
    private static long build(WatershedHttp http) throws InterruptedException {
        JsonNode run = http.post("/v1/runs", "{\"models\": [\"store_daily\"]}".getBytes(StandardCharsets.UTF_8)).json();
        long id = run.path("id").asLong();
        while (!Set.of("success", "failed").contains(run.path("state").asText())) {
            Thread.sleep(100); // polling the API: the step's own duration is what is measured
            run = http.get("/v1/runs/" + id).json();
        }
        JsonNode step = run.path("steps").get(0);
        if (!run.path("state").asText().equals("success")) {
            throw new IllegalStateException("the build failed: " + step.path("error").asText());
        }
        System.err.printf(Locale.ROOT, "model build: %d ms, %d rows%n", step.path("duration_ms").asLong(), step.path("rows").asLong());
        return step.path("duration_ms").asLong();
    }

    private static long peer(Connection duck, String sql, Path target) throws Exception {
        long t0 = System.nanoTime();
        try (Statement s = duck.createStatement()) {
            s.execute("COPY (" + sql + ") TO '" + target + "' (FORMAT parquet, COMPRESSION zstd)");
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.err.printf(Locale.ROOT, "DuckDB: %d ms%n", ms);
        return ms;
    }

    /** {@code bench.sales}: N rows over 365 days, 10 stores and 1,000 products, written with Iceberg's own Parquet writer. */
    private static List<String> writeSales(Path data, long rows) throws Exception {
        Schema schema = new Schema(
                Types.NestedField.optional(1, "sale_id", Types.LongType.get()),
                Types.NestedField.optional(2, "day", Types.DateType.get()),
                Types.NestedField.optional(3, "store", Types.IntegerType.get()),
                Types.NestedField.optional(4, "product", Types.StringType.get()),
                Types.NestedField.optional(5, "amount", Types.DoubleType.get()));
        List<String> paths = new ArrayList<>();
        try (IcebergLake lake = new IcebergLake(data.resolve("lake"))) {
            lake.catalog().createNamespace(Namespace.of("bench"));
            Table table = lake.catalog().createTable(TableIdentifier.of("bench", "sales"), schema, PartitionSpec.unpartitioned(),
                    java.util.Map.of("format-version", "2", "write.parquet.compression-codec", "zstd"));
            GenericFileWriterFactory factory = new GenericFileWriterFactory.Builder(table).dataFileFormat(FileFormat.PARQUET)
                    .dataSchema(schema).build();
            OutputFileFactory outputs = OutputFileFactory.builderFor(table, 0, 0).format(FileFormat.PARQUET).build();
            SplittableRandom random = new SplittableRandom(7);
            LocalDate first = LocalDate.parse("2016-01-01");
            long perFile = 1_250_000;
            AppendFiles append = table.newAppend();
            GenericRecord record = GenericRecord.create(schema);
            for (long written = 0; written < rows; ) {
                DataWriter<Record> writer = factory.newDataWriter(outputs.newOutputFile(), table.spec(), null);
                long n = Math.min(perFile, rows - written);
                try (writer) {
                    for (long i = 0; i < n; i++) {
                        record.setField("sale_id", written + i);
                        record.setField("day", first.plusDays(random.nextInt(365)));
                        record.setField("store", random.nextInt(10));
                        record.setField("product", "p" + random.nextInt(1_000));
                        record.setField("amount", random.nextInt(100_000) / 100.0);
                        writer.write(record);
                    }
                }
                append.appendFile(writer.toDataFile());
                written += n;
            }
            append.commit();
            try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
                for (FileScanTask task : tasks) {
                    String location = task.file().location();
                    paths.add(location.startsWith("file:") ? java.net.URI.create(location).getPath() : location);
                }
            }
        }
        return paths;
    }
}
