package io.watershed.stream;

import io.watershed.spi.LakeTableView;
import io.watershed.spi.StreamSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.catalog.ObjectPath;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tables a pipeline's SQL sees, registered in its table environment before it is planned: the lake's catalog (or a
 * {@link PlanningCatalog} when only planning), {@code streams.<name>} for every stream, the lake tables it looks up,
 * and the targets of its {@code INSERT INTO} and {@code CREATE LIVE VIEW} statements. Keeps the columns of streams no
 * file declares as the pipeline that writes them defined them, and the live views the pipelines define.
 */
final class PipelineTables {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineTables.class);
    /** The namespace live views are queried under. */
    static final String LIVE = "live";
    /** The namespace a pipeline writes the project's sinks under ({@code sinks/<name>.yaml}). */
    static final String SINKS = "sinks";
    /** Most distinct rows one live view may hold. */
    static final int LIVE_VIEW_MAX_ROWS = 100_000;
    /** A join with a table FOR SYSTEM_TIME AS OF (a hint may sit between them). */
    private static final Pattern LOOKUP = Pattern.compile("(?is)\\bJOIN\\s+((?:`[^`]+`|[A-Za-z_]\\w*)\\s*\\.\\s*"
            + "(?:`[^`]+`|[A-Za-z_]\\w*))\\s*(?:/\\*\\+.*?\\*/\\s*)?FOR\\s+SYSTEM_TIME\\s+AS\\s+OF\\b");

    private final PipelineContext context;
    private final LiveViews liveViews;
    private final Map<String, Pipeline> pipelines;
    /** Present when only planning (watershed validate): nothing is created, connected or run. */
    private final Optional<PlanningCatalog> planning;
    /** The columns of a stream no file declares, as the pipeline that writes it defined them. */
    private final Map<String, DerivedStream> derived = new ConcurrentHashMap<>();

    private record DerivedStream(String writer, Map<String, String> columns, Optional<String> eventTime) {}

    /** @param pipelines the runner's pipelines by name (a stream's failed writer fails its readers) */
    PipelineTables(PipelineContext context, LiveViews liveViews, Map<String, Pipeline> pipelines, Optional<PlanningCatalog> planning) {
        this.context = context;
        this.liveViews = liveViews;
        this.pipelines = pipelines;
        this.planning = planning;
    }

    void registerCatalog(TableEnvironment env) {
        if (planning.isPresent()) {
            planning.get().register(env, context.catalogName(), context.streams().streams());
            return;
        }
        env.executeSql(StreamTables.icebergCatalogDdl(context.catalogName(), context.catalogProperties()));
        env.useCatalog(context.catalogName());
    }

    /**
     * Lake tables the pipeline joins {@code FOR SYSTEM_TIME AS OF} are looked up: each is shadowed, for
     * this pipeline, by a temporary table of the same name and columns on the lake lookup connector
     * ({@link LakeLookupTableFactory}), since Iceberg's own source cannot be looked up. A view of the
     * same syntax (an event-time temporal join) is left alone.
     */
    void registerLookups(TableEnvironment env, List<SqlScript.Statement> statements) {
        if (planning.isPresent()) {
            return; // the throwaway catalog has no lake tables; such reads are reported as unchecked
        }
        Set<String> registered = new HashSet<>();
        org.apache.flink.table.catalog.Catalog catalog = env.getCatalog(context.catalogName()).orElseThrow();
        for (SqlScript.Statement statement : statements) {
            Matcher lookup = LOOKUP.matcher(statement.text());
            while (lookup.find()) {
                String[] parts = lookup.group(1).split("\\s*\\.\\s*");
                String namespace = parts[0].replace("`", "");
                String table = parts[1].replace("`", "");
                if (namespace.equals("streams") || namespace.equals(LIVE) || !registered.add(namespace + "." + table)) {
                    continue;
                }
                org.apache.flink.table.catalog.CatalogBaseTable lakeTable;
                try {
                    lakeTable = catalog.getTable(new ObjectPath(namespace, table));
                } catch (org.apache.flink.table.catalog.exceptions.TableNotExistException e) {
                    continue; // the planner says it is not there, at the statement
                }
                org.apache.flink.table.api.TableDescriptor.Builder descriptor = org.apache.flink.table.api.TableDescriptor
                        .forConnector(LakeLookupTableFactory.IDENTIFIER)
                        .schema(org.apache.flink.table.api.Schema.newBuilder().fromSchema(lakeTable.getUnresolvedSchema()).build())
                        .option(LakeLookupTableFactory.TABLE, namespace + "." + table)
                        .option(LakeLookupTableFactory.CATALOG_NAME, context.catalogName());
                context.catalogProperties().forEach((k, v) -> descriptor.option(LakeLookupTableFactory.CATALOG_PREFIX + k, v));
                env.createTemporaryTable(StreamTables.quote(context.catalogName()) + "." + StreamTables.quote(namespace) + "."
                        + StreamTables.quote(table), descriptor.build());
                LOG.debug("Lake table {}.{} is looked up through the lake lookup connector", namespace, table);
            }
        }
    }

    /**
     * Registers every stream as {@code streams.<name>}: declared fields first, then the columns a
     * pipeline that writes the stream gave it, then the columns its raw table has inferred. A stream
     * this pipeline writes and no file declares gets its sink from the INSERT instead.
     */
    void registerStreams(TableEnvironment env, Pipeline pipeline) {
        Map<String, LakeTableView> raw = new LinkedHashMap<>();
        for (LakeTableView table : planning.isPresent() ? List.<LakeTableView>of() : context.lake().tables()) {
            if (table.namespace().equals("raw")) {
                raw.put(table.name(), table);
            }
        }
        Map<String, StreamSpec> streams = new TreeMap<>();
        context.streams().streams().forEach(s -> streams.put(s.name(), s));
        derived.forEach((name, d) -> streams.putIfAbsent(name, StreamSpec.inferred(name, context.defaultPartitions())));
        for (StreamSpec stream : streams.values()) {
            DerivedStream written = derived.get(stream.name());
            Map<String, String> columns;
            if (pipeline.writes.contains(stream.name())) {
                if (!stream.fields().isEmpty()) {
                    // a declared stream keeps its fields: the pipeline's INSERT must give them
                    Map<String, String> declared = StreamTables.columns(stream, Optional.empty());
                    env.executeSql(StreamTables.sinkDdl(streamTable(stream.name()), stream.topic(), declared,
                            context.connection(), sinkId(pipeline, stream.name()), pipeline.run));
                }
                continue;
            }
            if (!stream.fields().isEmpty()) {
                columns = StreamTables.columns(stream, Optional.empty());
            } else if (written != null) {
                columns = written.columns();
                stream = new StreamSpec(stream.name(), stream.partitions(), stream.key(), written.eventTime(), stream.lateness(),
                        stream.retention(), stream.fields());
            } else {
                columns = StreamTables.columns(stream, Optional.ofNullable(raw.get(stream.name())));
            }
            if (columns.isEmpty()) {
                LOG.debug("Stream '{}' has neither declared fields nor data yet; pipelines cannot read it", stream.name());
                continue;
            }
            env.executeSql(StreamTables.ddl(streamTable(stream.name()), stream, columns, context.connection(),
                    pipeline.name(), UnreadableRecords.key(liveViews.id(), pipeline.name())));
        }
        for (String read : pipeline.reads) {
            for (Pipeline writer : pipelines.values()) {
                if (writer.writes.contains(read) && !streams.containsKey(read) && writer.failed()) {
                    throw new Pipeline.PipelineException(pipeline.file() + ":1:1: pipeline '"
                            + pipeline.name() + "' reads streams." + read + ", which pipeline '" + writer.name()
                            + "' writes, and that pipeline failed: " + writer.error);
                }
            }
        }
    }

    /** Drops what the pipeline defined (its live views, the columns of streams it wrote), before it starts again. */
    void forget(Pipeline pipeline) {
        pipeline.views.forEach(liveViews.views()::remove);
        derived.values().removeIf(d -> d.writer().equals(pipeline.name()));
    }

    String liveTable(String view) {
        return StreamTables.quote(context.catalogName()) + ".`" + LIVE + "`." + StreamTables.quote(view);
    }

    /** Defines the live view and its sink table; returns the view's name. */
    String prepareLiveView(TableEnvironment env, Pipeline pipeline, SqlScript.Statement statement, String target, String query) {
        String at = FlinkErrors.where(pipeline.file(), statement, 1, 1);
        List<String> parts = nameParts(target);
        if (parts.size() == 2 && parts.get(0).equals(LIVE)) {
            parts.remove(0);
        }
        String view = parts.get(parts.size() - 1);
        if (parts.size() != 1 || !StreamSpec.NAME.matcher(view).matches()) {
            throw new Pipeline.PipelineException(at + "CREATE LIVE VIEW " + target + ": name the view "
                    + "with one name (it is queried as live.<name>); names use " + StreamSpec.NAME_RULE);
        }
        ResolvedSchema schema = env.sqlQuery(query).getResolvedSchema();
        for (org.apache.flink.table.catalog.Column column : schema.getColumns()) {
            Optional<String> unsupported = LiveView.unsupported(column.getDataType().getLogicalType());
            if (unsupported.isPresent()) {
                throw new Pipeline.PipelineException(at + "CREATE LIVE VIEW " + view + ": column '"
                        + column.getName() + "': " + unsupported.get());
            }
        }
        List<String> columns = FlinkColumns.definitions(schema);
        RowType type = RowType.of(schema.getColumns().stream().map(c -> FlinkColumns.plain(c.getDataType().getLogicalType()))
                .toArray(LogicalType[]::new), schema.getColumnNames().toArray(String[]::new));
        if (!liveViews.define(new LiveView(view, type, LIVE_VIEW_MAX_ROWS))) {
            if (pipeline.views.contains(view)) {
                throw new Pipeline.PipelineException(at + "CREATE LIVE VIEW " + view + ": defined twice in this file");
            }
            throw new Pipeline.PipelineException(at + "CREATE LIVE VIEW " + view + ": a live view of "
                    + "that name is defined already by another statement or pipeline; live view names are unique");
        }
        pipeline.views.add(view);
        env.executeSql("CREATE TEMPORARY TABLE " + liveTable(view) + " (\n  " + String.join(",\n  ", columns) + "\n) WITH (\n"
                + "  'connector' = '" + LiveViewTableFactory.IDENTIFIER + "',\n  'runner' = '" + liveViews.id() + "',\n"
                + "  'view' = '" + view + "'\n)");
        return view;
    }

    /** Makes sure the INSERT's target exists (a lake table, or a stream's topic and sink); returns its name. */
    String prepareTarget(TableEnvironment env, Pipeline pipeline, SqlScript.Statement statement, String target, String query) {
        String at = FlinkErrors.where(pipeline.file(), statement, 1, 1);
        List<String> parts = nameParts(target);
        if (parts.size() == 3 && parts.get(0).equals(context.catalogName())) {
            parts.remove(0);
        }
        if (parts.size() != 2) {
            throw new Pipeline.PipelineException(at + "INSERT INTO " + target + ": name the target as "
                    + "<namespace>.<table> for a lake table, streams.<name> for a stream or sinks.<name> for a sink");
        }
        String namespace = parts.get(0);
        String table = parts.get(1);
        if (namespace.equals("raw")) {
            throw new Pipeline.PipelineException(at + "INSERT INTO raw." + table + ": raw tables are "
                    + "written by the lake writer only; write to streams." + table + " (it lands in raw." + table
                    + ") or to a table in another namespace");
        }
        if (namespace.equals(LIVE)) {
            throw new Pipeline.PipelineException(at + "INSERT INTO live." + table + ": the live namespace "
                    + "holds live views; define one with CREATE LIVE VIEW " + table + " AS SELECT ...");
        }
        if (!StreamSpec.NAME.matcher(namespace).matches() || !StreamSpec.NAME.matcher(table).matches()) {
            throw new Pipeline.PipelineException(at + "INSERT INTO " + target + ": namespace and table "
                    + "names use " + StreamSpec.NAME_RULE);
        }
        if (namespace.equals("streams")) {
            prepareStream(env, pipeline, at, table, query);
            return "streams." + table;
        }
        if (namespace.equals(SINKS)) {
            prepareSink(env, at, table, query);
            return SINKS + "." + table;
        }
        if (!tableExists(env, namespace, table)) {
            ResolvedSchema schema = env.sqlQuery(query).getResolvedSchema();
            env.executeSql("CREATE DATABASE IF NOT EXISTS " + StreamTables.quote(namespace));
            env.executeSql("CREATE TABLE IF NOT EXISTS " + StreamTables.quote(namespace) + "." + StreamTables.quote(table)
                    + " (\n  " + String.join(",\n  ", FlinkColumns.definitions(schema)) + "\n) WITH ('format-version' = '2', "
                    + "'write.parquet.compression-codec' = 'zstd')");
            if (planning.isEmpty()) {
                LOG.info("Created lake table {}.{} for pipeline '{}'", namespace, table, pipeline.name());
            }
        }
        return namespace + "." + table;
    }

    /** A stream no file declares gets its topic and sink from the INSERT's columns; a second writer must give the same. */
    private void prepareStream(TableEnvironment env, Pipeline pipeline, String at, String table, String query) {
        Optional<StreamSpec> declared = context.streams().resolve(table, false).filter(s -> !s.fields().isEmpty());
        if (declared.isPresent()) {
            return;
        }
        ResolvedSchema schema = env.sqlQuery(query).getResolvedSchema();
        // the topic, and the lake writer that lands it in raw.<table>
        context.streams().resolve(table, true);
        Map<String, String> columns = FlinkColumns.types(schema);
        env.executeSql(StreamTables.sinkDdl(streamTable(table), table, columns, context.connection(), sinkId(pipeline, table),
                pipeline.run));
        Optional<String> eventTime = schema.getColumns().stream()
                .filter(c -> org.apache.flink.table.types.logical.utils.LogicalTypeChecks.isRowtimeAttribute(
                        c.getDataType().getLogicalType()))
                .map(org.apache.flink.table.catalog.Column::getName).findFirst();
        DerivedStream previous = derived.putIfAbsent(table, new DerivedStream(pipeline.name(), columns, eventTime));
        if (previous != null && !previous.columns().equals(columns)) {
            throw new Pipeline.PipelineException(at + "INSERT INTO streams." + table + ": pipeline '"
                    + previous.writer() + "' writes this stream with columns " + previous.columns() + ", this one with "
                    + columns + "; give them the same columns, or declare the stream in streams/" + table + ".yaml");
        }
    }

    /**
     * Registers {@code sinks.<name>} on the sink's connector with the query's columns, and the sink's key as the table's
     * primary key: what lets the planner send an updating query's changes to it.
     */
    private void prepareSink(TableEnvironment env, String at, String name, String query) {
        io.watershed.spi.SinkSpec spec = context.sinks().get(name);
        if (spec == null) {
            throw new Pipeline.PipelineException(at + "INSERT INTO sinks." + name + ": no sink '" + name + "' is declared; "
                    + "declare it in sinks/" + name + ".yaml (declared: " + new java.util.TreeSet<>(context.sinks().keySet()) + ")");
        }
        // the type of a column the sink creates, per store; empty: the store cannot hold it
        java.util.function.BiFunction<LogicalType, Boolean, Optional<String>> storeType;
        if (spec instanceof io.watershed.spi.SinkSpec.Jdbc jdbc) {
            storeType = JdbcDialect.of(jdbc.url())::type;
        } else {
            storeType = (type, key) -> CassandraSink.cqlType(type);
        }
        ResolvedSchema schema = env.sqlQuery(query).getResolvedSchema();
        List<String> missing = spec.key().stream().filter(k -> !schema.getColumnNames().contains(k)).toList();
        if (!missing.isEmpty()) {
            throw new Pipeline.PipelineException(at + "INSERT INTO sinks." + name + ": the sink is keyed by " + spec.key()
                    + " (" + spec.location() + "), but the query has no column " + missing + "; its columns are "
                    + schema.getColumnNames());
        }
        org.apache.flink.table.api.Schema.Builder columns = org.apache.flink.table.api.Schema.newBuilder();
        for (org.apache.flink.table.catalog.Column column : schema.getColumns()) {
            LogicalType type = FlinkColumns.plain(column.getDataType().getLogicalType());
            boolean key = spec.key().contains(column.getName());
            if (storeType.apply(type, key).isEmpty()) {
                throw new Pipeline.PipelineException(at + "INSERT INTO sinks." + name + ": column '" + column.getName()
                        + "' has type " + type.asSummaryString() + ", which sink '" + name + "' cannot write; cast it to a "
                        + "string, number, boolean, date, time, timestamp or bytes (JSON_STRING(...) for a structure)");
            }
            org.apache.flink.table.types.DataType dataType =
                    org.apache.flink.table.types.utils.TypeConversions.fromLogicalToDataType(type);
            columns.column(column.getName(), key ? dataType.notNull() : dataType);
        }
        if (!spec.key().isEmpty()) {
            columns.primaryKey(spec.key());
        }
        String countedAs = SinkStatistics.key(liveViews.id(), name);
        org.apache.flink.table.api.TableDescriptor table = spec instanceof io.watershed.spi.SinkSpec.Jdbc jdbc
                ? JdbcSinkFactory.descriptor(jdbc, columns.build(), countedAs)
                : CassandraSinkFactory.descriptor((io.watershed.spi.SinkSpec.Cassandra) spec, columns.build(), countedAs);
        env.createTemporaryTable(sinkTable(name), table);
        // a row whose key is NULL cannot be written by its key: the Flink planner would fail the job on it (the key's
        // columns are NOT NULL), so such rows go to a table on the same connector that dead-letters them
        List<String> nullable = schema.getColumns().stream().filter(c -> spec.key().contains(c.getName())
                && c.getDataType().getLogicalType().isNullable()).map(org.apache.flink.table.catalog.Column::getName).toList();
        if (nullable.isEmpty()) {
            nullableSinkKeys.remove(name);
            return;
        }
        org.apache.flink.table.api.Schema.Builder all = org.apache.flink.table.api.Schema.newBuilder();
        for (org.apache.flink.table.catalog.Column column : schema.getColumns()) {
            all.column(column.getName(), org.apache.flink.table.types.utils.TypeConversions.fromLogicalToDataType(
                    FlinkColumns.plain(column.getDataType().getLogicalType())));
        }
        env.createTemporaryTable(sinkTable(name + NULL_KEY_SUFFIX), table.toBuilder().schema(all.build())
                .option(BufferedSinkFactory.DEAD_LETTER_REASON, "key column " + String.join(", ", nullable)
                        + " is NULL: a row of sink '" + name + "' is written by its key " + spec.key())
                .build());
        nullableSinkKeys.put(name, nullable);
    }

    /** The side table that takes a sink's rows with a NULL key, when its query's key columns can be NULL. */
    static final String NULL_KEY_SUFFIX = "__null_key";

    private final Map<String, List<String>> nullableSinkKeys = new java.util.HashMap<>();

    /**
     * The inserts for {@code INSERT INTO <target> <query>}: the statement as written, or for a sink whose key can be NULL,
     * the rows with a key into the sink and the rest into its dead letters (the planner computes the query once for both).
     */
    List<String> inserts(String target, String statement, String query) {
        List<String> keys = target.startsWith(SINKS + ".") ? nullableSinkKeys.get(target.substring(SINKS.length() + 1)) : null;
        if (keys == null) {
            return List.of(statement);
        }
        String name = target.substring(SINKS.length() + 1);
        String present = keys.stream().map(k -> StreamTables.quote(k) + " IS NOT NULL").collect(java.util.stream.Collectors.joining(" AND "));
        String absent = keys.stream().map(k -> StreamTables.quote(k) + " IS NULL").collect(java.util.stream.Collectors.joining(" OR "));
        return List.of("INSERT INTO " + sinkTable(name) + " SELECT * FROM (" + query + ") WHERE " + present,
                "INSERT INTO " + sinkTable(name + NULL_KEY_SUFFIX) + " SELECT * FROM (" + query + ") WHERE " + absent);
    }

    private String sinkTable(String name) {
        return StreamTables.quote(context.catalogName()) + ".`" + SINKS + "`." + StreamTables.quote(name);
    }

    private boolean tableExists(TableEnvironment env, String namespace, String table) {
        return env.getCatalog(context.catalogName()).map(c -> c.tableExists(new ObjectPath(namespace, table))).orElse(false);
    }

    private String streamTable(String stream) {
        return StreamTables.quote(context.catalogName()) + ".`streams`." + StreamTables.quote(stream);
    }

    private static String sinkId(Pipeline pipeline, String stream) {
        return pipeline.name() + "-" + stream;
    }

    private static List<String> nameParts(String target) {
        List<String> parts = new ArrayList<>();
        for (String part : target.split("\\s*\\.\\s*")) {
            parts.add(part.startsWith("`") ? part.substring(1, part.length() - 1) : part);
        }
        return parts;
    }
}
