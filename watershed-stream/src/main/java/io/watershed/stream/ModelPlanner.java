package io.watershed.stream;

import io.watershed.spi.ModelSpec;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.iceberg.flink.FlinkSchemaUtil;

/**
 * Plans models offline ({@code watershed validate}) as a build would plan them, without running anything: in batch
 * mode, in a {@link PlanningCatalog}, in dependency order, each model's result made a table for the models that read it.
 */
final class ModelPlanner {
    private ModelPlanner() {}

    /**
     * Plans every model in {@code catalog} (raw tables of declared streams, and whatever pipelines planned there).
     * Mistakes go to {@code problems} as {@code file:line:col}; models that read a table known only once the platform
     * has run go to {@code unchecked}.
     */
    static void plan(Collection<ModelSpec> models, PlanningCatalog catalog, Collection<StreamSpec> streams, List<Path> functionJars,
            List<String> problems, List<String> unchecked) {
        TableEnvironment env = TableEnvironment.create(EnvironmentSettings.newInstance().inBatchMode()
                .withConfiguration(Configuration.fromMap(Map.of("table.local-time-zone", "UTC"))).build());
        catalog.register(env, "watershed", streams);
        FunctionJars.add(env, functionJars);
        Set<String> failed = new HashSet<>();
        Set<String> declaredRaw = new HashSet<>();
        streams.stream().filter(s -> !s.fields().isEmpty()).forEach(s -> declaredRaw.add("raw." + s.name()));
        LocalDateTime start = LocalDateTime.of(2000, 1, 1, 0, 0);
        for (ModelSpec model : inDependencyOrder(models)) {
            String file = "models/" + model.file().getFileName();
            Optional<String> brokenUpstream = model.upstreamModels().stream().filter(failed::contains).findFirst();
            if (brokenUpstream.isPresent()) {
                failed.add(model.name());
                unchecked.add(file + ":1:1: not planned: it reads model '" + brokenUpstream.get() + "', which could not be");
                continue;
            }
            LocalDateTime end = model.config().grain().next(start);
            SqlScript.Statement statement = ModelSql.statement(model, start, end);
            try {
                env.executeSql("CREATE DATABASE IF NOT EXISTS " + StreamTables.quote(model.config().namespace()));
                env.useDatabase(model.config().namespace());
                Table query = env.sqlQuery(statement.text());
                ModelSql.partitionSpec(model, file, ModelSql.optional(FlinkSchemaUtil.convert(query.getResolvedSchema())));
                env.executeSql("CREATE TABLE IF NOT EXISTS " + StreamTables.quote(model.config().namespace()) + "."
                        + StreamTables.quote(model.name()) + " (\n  " + String.join(",\n  ",
                        FlinkColumns.definitions(query.getResolvedSchema())) + "\n)");
            } catch (WatershedException e) {
                failed.add(model.name());
                problems.add(e.getMessage());
            } catch (RuntimeException e) {
                failed.add(model.name());
                String message = ModelSql.located(file, statement, e, model.sql(), start, end);
                Matcher missing = FlinkErrors.MISSING_TABLE.matcher(message);
                if (missing.find() && !declaredRaw.contains(lakeName(missing.group(1)))) {
                    unchecked.add(message + " (not checked further: this table is known once the platform has run)");
                } else {
                    problems.add(message);
                }
            }
        }
    }

    /** Models after the models they read; none when they form a cycle (the project loader has reported it). */
    private static List<ModelSpec> inDependencyOrder(Collection<ModelSpec> models) {
        Map<String, ModelSpec> byName = new TreeMap<>();
        models.forEach(m -> byName.put(m.name(), m));
        List<ModelSpec> order = new ArrayList<>();
        Set<String> placed = new HashSet<>();
        while (order.size() < byName.size()) {
            int before = order.size();
            for (ModelSpec m : byName.values()) {
                if (!placed.contains(m.name()) && placed.containsAll(m.upstreamModels())) {
                    order.add(m);
                    placed.add(m.name());
                }
            }
            if (order.size() == before) {
                return List.of();
            }
        }
        return order;
    }

    /** {@code watershed.raw.x} or {@code raw.x} as {@code raw.x}. */
    private static String lakeName(String name) {
        String[] parts = name.replace("`", "").split("\\.");
        return parts.length >= 2 ? parts[parts.length - 2] + "." + parts[parts.length - 1] : name;
    }
}
