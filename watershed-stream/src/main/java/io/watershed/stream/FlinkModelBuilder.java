package io.watershed.stream;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.ModelBuilder;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.ModelSpec.Materialization;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.OverwriteFiles;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Transaction;
import org.apache.iceberg.UpdateSchema;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.exceptions.ValidationException;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.flink.CatalogLoader;
import org.apache.iceberg.flink.FlinkSchemaUtil;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.TypeUtil;
import org.apache.iceberg.types.Types;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds models as Flink batch jobs, write-then-publish: the job writes its Parquet files through a
 * staging table that shares the model table's metadata and location (so the files carry the table's
 * column ids and land in its data directory), and the build then replaces the table's contents, or one
 * time range of them, with those files in a single Iceberg commit. A build that fails or is killed
 * before that commit leaves the table exactly as it was; the files it wrote are referenced by no
 * snapshot.
 */
public final class FlinkModelBuilder implements ModelBuilder, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FlinkModelBuilder.class);
    /** Where staging tables live; no query sees this namespace. */
    public static final String STAGING = "_staging";

    /**
     * @param parallelism tasks per build job
     * @param functionJars the project's jars of user-defined functions, on every job's classpath
     * @param lake holds the snapshots of the tables a build reads, so that snapshot expiry keeps them until it ends
     */
    public record Context(FlinkEngine engine, String catalogName, Map<String, String> catalogProperties, List<Path> functionJars,
            int parallelism, io.watershed.spi.LakeCatalog lake) {}

    private final Context context;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final Set<JobClient> running = ConcurrentHashMap.newKeySet();
    private volatile Catalog catalog;
    private volatile boolean closed;

    public FlinkModelBuilder(Context context) {
        this.context = context;
    }

    @Override
    public BuildResult build(ModelSpec model, LocalDateTime start, LocalDateTime end, String build, Duration timeout) {
        if (closed) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot build model '" + model.name() + "': the platform is stopping");
        }
        FlinkRuntime runtime;
        try {
            runtime = context.engine().await();
        } catch (IllegalStateException e) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot build model '" + model.name() + "': " + e.getMessage(), e);
        }
        // one build of a model at a time: each starts from the table the previous one left
        synchronized (locks.computeIfAbsent(model.name(), k -> new Object())) {
            return buildLocked(runtime, model, start, end, build, timeout);
        }
    }

    private BuildResult buildLocked(FlinkRuntime runtime, ModelSpec model, LocalDateTime start, LocalDateTime end, String build,
            Duration timeout) {
        long t0 = System.nanoTime();
        String file = "models/" + model.file().getFileName();
        Catalog iceberg = catalog();
        Namespace namespace = Namespace.of(model.config().namespace());
        ensureNamespace(iceberg, namespace);
        ensureNamespace(iceberg, Namespace.of(STAGING));

        Configuration conf = new Configuration();
        conf.set(PipelineOptions.NAME, "model " + model.name() + " [" + build + "]");
        conf.set(CoreOptions.DEFAULT_PARALLELISM, context.parallelism());
        conf.setString("restart-strategy.type", "none"); // the scheduler retries a failed build as a whole
        TableEnvironment env = runtime.batchEnvironment(conf);
        env.executeSql(StreamTables.icebergCatalogDdl(context.catalogName(), context.catalogProperties()));
        try {
            env.useCatalog(context.catalogName());
            env.useDatabase(model.config().namespace());
            FunctionJars.add(env, context.functionJars());
            List<io.watershed.spi.LakeCatalog.Hold> holds = new java.util.ArrayList<>();
            try {
                // Flink picks each input's snapshot when the job plans: hold whatever is current from now on
                for (ModelSpec.TableRef input : model.references()) {
                    holds.add(context.lake().hold(input.namespace(), input.name(), -1));
                }
                return build(env, iceberg, namespace, model, file, start, end, build, timeout, t0);
            } finally {
                holds.forEach(io.watershed.spi.LakeCatalog.Hold::close);
            }
        } finally {
            // unregistering closes the catalog (and its connection to the catalog database): one per build otherwise piles up
            try {
                env.useCatalog("default_catalog");
                env.executeSql("DROP CATALOG IF EXISTS " + StreamTables.quote(context.catalogName()));
            } catch (RuntimeException e) {
                LOG.debug("Cannot drop the build's catalog: {}", e.toString());
            }
        }
    }

    private BuildResult build(TableEnvironment env, Catalog iceberg, Namespace namespace, ModelSpec model, String file,
            LocalDateTime start, LocalDateTime end, String build, Duration timeout, long t0) {
        Table query;
        SqlScript.Statement statement = ModelSql.statement(model, start, end);
        try {
            query = env.sqlQuery(statement.text());
        } catch (RuntimeException e) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, ModelSql.located(file, statement, e, model.sql(), start, end), e);
        }
        Schema converted = ModelSql.optional(FlinkSchemaUtil.convert(query.getResolvedSchema()));
        PartitionSpec spec = ModelSql.partitionSpec(model, file, converted);
        TableIdentifier targetId = TableIdentifier.of(namespace, model.name());
        org.apache.iceberg.Table target;
        boolean created = false;
        if (iceberg.tableExists(targetId)) {
            target = iceberg.loadTable(targetId);
            String owner = target.properties().get("watershed.model");
            if (!model.name().equals(owner)) {
                throw new WatershedException(ErrorCode.INVALID_CONFIG, file + ": the lake table " + model.table() + " exists and "
                        + (owner == null ? "was not made by a model" : "was made by model '" + owner + "'") + "; a build would "
                        + "replace its contents. Rename the model, or move the table out of the way");
            }
        } else {
            created = true;
            target = iceberg.createTable(targetId, converted, spec, Map.of("format-version", "2",
                    "write.parquet.compression-codec", "zstd", "watershed.model", model.name()));
            LOG.info("Created lake table {} for model '{}'", targetId, model.name());
        }
        // the result's columns with the ids the table gives the same names (nested fields included), so that types compare
        Schema wanted = TypeUtil.reassignOrRefreshIds(converted, target.schema());
        TableIdentifier stagingId = TableIdentifier.of(STAGING, model.name() + "__" + build.replaceAll("[^A-Za-z0-9_]", "_")
                + "_" + Long.toHexString(System.nanoTime()));
        boolean published = false;
        try {
            dropStaging(iceberg, model.name());
            // the staging table starts as the target: same metadata, so the same column ids and the same location
            org.apache.iceberg.Table staging = iceberg.registerTable(stagingId,
                    ((HasTableOperations) target).operations().current().metadataFileLocation());
            boolean replaceAll = model.config().materialized() == Materialization.TABLE;
            checkEvolution(file, model, staging, wanted, replaceAll);
            evolve(staging.updateSchema(), staging.schema(), wanted, replaceAll).commit();
            if (!layout(staging.spec()).equals(layout(spec))) {
                if (!replaceAll) {
                    throw new WatershedException(ErrorCode.INVALID_CONFIG, file + ": partition_by or grain changed since "
                            + model.table() + " was built (" + layout(staging.spec()) + " now " + layout(spec) + "); the earlier "
                            + "partitions keep the old layout. Drop the table to rebuild it, or keep the old setting");
                }
                respec(staging.updateSpec(), staging.spec(), spec).commit();
            }
            long base = staging.currentSnapshot() == null ? -1 : staging.currentSnapshot().snapshotId();

            env.createTemporaryView("model_result", query);
            String columns = String.join(", ", wanted.columns().stream().map(c -> StreamTables.quote(c.name())).toList());
            TableResult result;
            try {
                result = env.executeSql("INSERT INTO " + StreamTables.quote(context.catalogName()) + "." + StreamTables.quote(STAGING)
                        + "." + StreamTables.quote(stagingId.name()) + " (" + columns + ") SELECT " + columns + " FROM model_result");
            } catch (RuntimeException e) {
                throw new WatershedException(ErrorCode.INVALID_CONFIG, file + ": " + FlinkErrors.parserMessage(
                        FlinkErrors.rootMessage(e)), e);
            }
            JobClient job = result.getJobClient().orElseThrow();
            long submitted = System.nanoTime();
            running.add(job);
            if (closed) {
                job.cancel(); // the platform began to stop while this job was being submitted
            }
            try {
                job.getJobExecutionResult().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                job.cancel();
                throw new WatershedException(ErrorCode.QUERY_TIMEOUT, file + ": the build ran longer than its timeout ("
                        + timeout + ") and was cancelled; the table is unchanged. Raise 'timeout' in the model's settings, or "
                        + "make it cheaper");
            } catch (InterruptedException e) {
                job.cancel();
                Thread.currentThread().interrupt();
                throw new WatershedException(ErrorCode.UNAVAILABLE, file + ": the build was interrupted; the table is unchanged");
            } catch (ExecutionException e) {
                throw new WatershedException(closed ? ErrorCode.UNAVAILABLE : ErrorCode.INTERNAL, file + ": the build failed"
                        + (closed ? " as the platform stopped" : "") + ": " + FlinkErrors.rootMessage(e) + "; the table is unchanged", e);
            } finally {
                running.remove(job);
            }

            staging.refresh();
            List<DataFile> files = new ArrayList<>();
            for (Snapshot s = staging.currentSnapshot(); s != null && s.snapshotId() != base;
                    s = s.parentId() == null ? null : staging.snapshot(s.parentId())) {
                s.addedDataFiles(staging.io()).forEach(files::add);
            }
            long rows = files.stream().mapToLong(DataFile::recordCount).sum();
            long finished = System.nanoTime();
            long snapshot;
            try {
                snapshot = publish(file, model, target, staging, wanted, replaceAll, files, start, end, build);
            } catch (org.apache.iceberg.exceptions.CommitStateUnknownException e) {
                published = true; // it may have landed: keep the table
                throw new WatershedException(ErrorCode.INTERNAL, file + ": the catalog did not say whether the build's commit "
                        + "landed (" + e.getMessage() + "); query " + model.table() + " to see, and run the model again", e);
            }
            published = true;
            long millis = (System.nanoTime() - t0) / 1_000_000;
            LOG.info("Model '{}' built [{}]: {} rows in {} files, snapshot {}, {} ms (planning and submission {} ms, job {} ms, "
                    + "commit {} ms)", model.name(), build, rows, files.size(), snapshot, millis, (submitted - t0) / 1_000_000,
                    (finished - submitted) / 1_000_000, (System.nanoTime() - finished) / 1_000_000);
            return new BuildResult(rows, files.size(), snapshot, millis);
        } finally {
            dropQuietly(iceberg, stagingId);
            if (created && !published) {
                dropQuietly(iceberg, targetId); // a first build that failed leaves no table behind, not even an empty one
            }
        }
    }

    /** One commit: the table's new schema (as the staging table has it) and its new contents. */
    private long publish(String file, ModelSpec model, org.apache.iceberg.Table target, org.apache.iceberg.Table staging, Schema wanted,
            boolean replaceAll, List<DataFile> files, LocalDateTime start, LocalDateTime end, String build) {
        target.refresh();
        Transaction tx = target.newTransaction();
        evolve(tx.updateSchema(), target.schema(), wanted, replaceAll).commit();
        if (!layout(tx.table().spec()).equals(layout(staging.spec()))) {
            respec(tx.updateSpec(), tx.table().spec(), staging.spec()).commit();
        }
        if (!tx.table().schema().sameSchema(staging.schema()) || tx.table().schema().schemaId() != staging.schema().schemaId()
                || tx.table().spec().specId() != staging.spec().specId()) {
            throw new WatershedException(ErrorCode.CONFLICT, file + ": the table " + model.table() + " changed while the build "
                    + "ran; nothing was written, run it again");
        }
        OverwriteFiles overwrite = tx.newOverwrite();
        if (replaceAll) {
            overwrite.overwriteByRowFilter(Expressions.alwaysTrue());
        } else {
            overwrite.overwriteByRowFilter(range(tx.table().schema(), model.config().partitionBy().orElseThrow(), start, end));
            if (!files.isEmpty()) {
                overwrite.validateAddedFilesMatchOverwriteFilter();
            }
        }
        files.forEach(overwrite::addFile);
        overwrite.set("watershed.model", model.name()).set("watershed.build", build)
                .set("watershed.range", start + "/" + end);
        try {
            overwrite.commit();
            tx.commitTransaction();
        } catch (ValidationException e) {
            if (!replaceAll && String.valueOf(e.getMessage()).contains("do not match")) {
                String column = model.config().partitionBy().orElse("");
                throw new WatershedException(ErrorCode.INVALID_CONFIG, file + ": the build for " + start + " to " + end + " returned "
                        + "rows whose " + column + " lies outside that range (or is null), so it would overwrite other partitions; "
                        + "filter the inputs with {{ start }} and {{ end }} (" + e.getMessage() + ")", e);
            }
            throw new WatershedException(ErrorCode.CONFLICT, file + ": the commit of " + model.table() + " was refused: "
                    + e.getMessage() + "; nothing was written, run it again", e);
        }
        target.refresh();
        return target.currentSnapshot().snapshotId();
    }

    /** Column changes an incremental model cannot make: earlier partitions hold the old columns. */
    private static void checkEvolution(String file, ModelSpec model, org.apache.iceberg.Table table, Schema wanted, boolean replaceAll) {
        for (Types.NestedField column : wanted.columns()) {
            Types.NestedField existing = table.schema().findField(column.name());
            if (existing != null && !existing.type().equals(column.type()) && !widens(existing.type(), column.type())) {
                if (replaceAll) {
                    continue; // the column is dropped and added again below
                }
                throw new WatershedException(ErrorCode.INVALID_CONFIG, file + ": column '" + column.name() + "' changes type from "
                        + existing.type() + " to " + column.type() + ", which Iceberg cannot widen, and the earlier partitions of "
                        + model.table() + " keep the old type; cast it to " + existing.type() + ", or give it a new name");
            }
        }
    }

    /** Whether Iceberg promotes {@code from} to {@code to} in place (int to long, float to double, a wider decimal). */
    private static boolean widens(Type from, Type to) {
        return from.isPrimitiveType() && to.isPrimitiveType() && TypeUtil.isPromotionAllowed(from, to.asPrimitiveType());
    }

    /**
     * The schema change that makes {@code current} hold {@code wanted}: new columns are added and compatible
     * types widened; for a full refresh, columns the result no longer has are dropped and a column whose type
     * cannot widen is dropped and added again. The same change on the same schema assigns the same ids, so the
     * staging table and the target end with the same schema.
     */
    private static UpdateSchema evolve(UpdateSchema update, Schema current, Schema wanted, boolean replaceAll) {
        if (replaceAll) {
            for (Types.NestedField column : current.columns()) {
                Types.NestedField next = wanted.findField(column.name());
                if (next == null) {
                    update.deleteColumn(column.name());
                }
            }
        }
        for (Types.NestedField column : wanted.columns()) {
            Types.NestedField existing = current.findField(column.name());
            if (existing == null) {
                update.addColumn(column.name(), column.type());
            } else if (!existing.type().equals(column.type())) {
                if (widens(existing.type(), column.type())) {
                    update.updateColumn(column.name(), column.type().asPrimitiveType());
                } else if (replaceAll) {
                    update.deleteColumn(column.name());
                    update.addColumn(column.name(), column.type());
                }
            }
        }
        return update;
    }

    /** A spec's fields as transform(column): comparable across schemas with different ids. */
    private static List<String> layout(PartitionSpec spec) {
        return spec.fields().stream().map(f -> f.transform() + "(" + spec.schema().findColumnName(f.sourceId()) + ")").toList();
    }

    /** The change that makes {@code current} partition like {@code wanted}. */
    private static org.apache.iceberg.UpdatePartitionSpec respec(org.apache.iceberg.UpdatePartitionSpec update, PartitionSpec current,
            PartitionSpec wanted) {
        current.fields().forEach(f -> update.removeField(f.name()));
        for (org.apache.iceberg.PartitionField f : wanted.fields()) {
            String column = wanted.schema().findColumnName(f.sourceId());
            String transform = f.transform().toString();
            update.addField(switch (transform) {
                case "hour" -> Expressions.hour(column);
                case "day" -> Expressions.day(column);
                case "month" -> Expressions.month(column);
                default -> Expressions.ref(column);
            });
        }
        return update;
    }

    /** {@code column >= start AND column < end}, in the column's own type. */
    private static Expression range(Schema schema, String column, LocalDateTime start, LocalDateTime end) {
        Type type = schema.findField(column).type();
        if (type.typeId() == Type.TypeID.DATE) {
            return Expressions.and(Expressions.greaterThanOrEqual(column, (int) start.toLocalDate().toEpochDay()),
                    Expressions.lessThan(column, (int) end.toLocalDate().toEpochDay()));
        }
        return Expressions.and(Expressions.greaterThanOrEqual(column, micros(start)), Expressions.lessThan(column, micros(end)));
    }

    private static long micros(LocalDateTime time) {
        return time.toEpochSecond(ZoneOffset.UTC) * 1_000_000L + time.getNano() / 1_000;
    }

    private static void ensureNamespace(Catalog catalog, Namespace namespace) {
        SupportsNamespaces namespaces = (SupportsNamespaces) catalog;
        if (!namespaces.namespaceExists(namespace)) {
            try {
                namespaces.createNamespace(namespace);
            } catch (AlreadyExistsException ignored) {
                // created concurrently
            }
        }
    }

    /** Staging tables an earlier build of the model left (the platform stopped during it): their catalog entries only. */
    private static void dropStaging(Catalog catalog, String model) {
        for (TableIdentifier id : catalog.listTables(Namespace.of(STAGING))) {
            if (id.name().startsWith(model + "__")) {
                dropQuietly(catalog, id);
            }
        }
    }

    /** Drops the catalog entry only: a staging table's files are its target's. */
    private static void dropQuietly(Catalog catalog, TableIdentifier id) {
        try {
            catalog.dropTable(id, false);
        } catch (RuntimeException e) {
            LOG.warn("Cannot drop staging table {}: {}", id, e.toString());
        }
    }

    private Catalog catalog() {
        if (catalog == null) {
            synchronized (this) {
                if (catalog == null) {
                    Map<String, String> properties = context.catalogProperties();
                    catalog = CatalogLoader.custom(context.catalogName(), properties,
                            new org.apache.hadoop.conf.Configuration(), properties.get("catalog-impl")).loadCatalog();
                }
            }
        }
        return catalog;
    }

    @Override
    public void close() {
        closed = true;
        for (JobClient job : running) {
            try {
                job.cancel().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("Cannot cancel build job {}: {}", job.getJobID(), e.toString());
            }
        }
        if (catalog instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                LOG.debug("Cannot close the model builder's catalog: {}", e.toString());
            }
        }
    }
}
