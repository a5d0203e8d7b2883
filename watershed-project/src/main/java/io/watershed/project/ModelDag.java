package io.watershed.project;

import io.watershed.spi.ModelSpec;
import io.watershed.spi.ModelSpec.TableRef;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.Project;
import io.watershed.spi.StreamSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The models' DAG: what each table a model reads resolves to (another model, a lake table the project makes, or one
 * from outside), the references a model may not make ({@code streams.}, {@code live.}, {@code committed.}), and
 * cycles. Mistakes are added to the problems with the reference's {@code file:line:col}.
 */
final class ModelDag {
    private final Path directory;
    private final String namespace;
    private final List<Problem> problems;

    /**
     * @param directory the project directory, absolute and normalized
     * @param namespace the models' namespace ({@code models.namespace})
     */
    ModelDag(Path directory, String namespace, List<Problem> problems) {
        this.directory = directory;
        this.namespace = namespace;
        this.problems = problems;
    }

    /**
     * Tables models read that no stream, pipeline or model of the project makes: they must be in the lake
     * already when the models run (written by another tool), or the name is a mistake.
     */
    static List<Problem> warnings(Project project) {
        Set<String> produced = producedTables(project.streams(), project.pipelines());
        List<Problem> warnings = new ArrayList<>();
        for (ModelSpec model : project.models().values()) {
            for (TableRef ref : model.references()) {
                String table = ref.table();
                boolean raw = ref.namespace().equals("raw");
                if (!ref.model() && !raw && !produced.contains(table)) {
                    warnings.add(new Problem(project.directory().relativize(model.file()).toString(), ref.line(), ref.column(),
                            "no stream, pipeline or model of the project makes " + table + ProjectLoader.suggestion(table,
                            produced) + "; it must be in the lake when the model runs"));
                }
            }
        }
        return warnings;
    }

    /** Every table the project makes: raw tables of declared streams and of streams pipelines write, pipeline outputs. */
    static Set<String> producedTables(Map<String, StreamSpec> streams, Map<String, PipelineSpec> pipelines) {
        Set<String> tables = new HashSet<>();
        streams.keySet().forEach(s -> tables.add("raw." + s));
        for (PipelineSpec pipeline : pipelines.values()) {
            // a stream a pipeline writes lands in raw.<stream>
            SqlReferences.pipelineOutputs(pipeline.sql()).stream().filter(o -> !o.startsWith("sinks."))
                    .forEach(o -> tables.add(o.startsWith("streams.") ? "raw." + o.substring(8) : o));
        }
        return tables;
    }

    Optional<TableRef> resolve(SqlReferences.Reference ref, String shown, Set<String> modelNames, Set<String> produced,
            Map<String, StreamSpec> streams) {
        List<String> parts = new ArrayList<>(ref.parts());
        if (parts.size() == 3 && parts.get(0).equals("watershed")) {
            parts.remove(0);
        }
        String namespace;
        String table;
        if (parts.size() == 1) {
            namespace = this.namespace;
            table = parts.get(0);
        } else if (parts.size() == 2) {
            namespace = parts.get(0);
            table = parts.get(1);
        } else {
            problems.add(new Problem(shown, ref.line(), ref.column(), "table " + String.join(".", ref.parts())
                    + ": name a lake table as <namespace>.<table>, or another model by its name"));
            return Optional.empty();
        }
        if (namespace.equals(this.namespace)) {
            if (!modelNames.contains(table)) {
                problems.add(new Problem(shown, ref.line(), ref.column(), "no model '" + table + "'" + (parts.size() == 1
                        ? " (a table named without a namespace is a model)" : "") + "; the project's models are "
                        + (modelNames.isEmpty() ? "none" : String.join(", ", modelNames)) + ProjectLoader.suggestion(table, modelNames)));
                return Optional.empty();
            }
            return Optional.of(new TableRef(namespace, table, true, ref.line(), ref.column()));
        }
        if (namespace.equals("streams") || namespace.equals("live")) {
            problems.add(new Problem(shown, ref.line(), ref.column(), namespace + "." + table + ": a model reads lake tables, "
                    + (namespace.equals("streams") ? "not streams; read raw." + table + ", where the stream lands"
                            : "not live views, which only pipelines keep; write the pipeline's result to a lake table")));
            return Optional.empty();
        }
        if (namespace.equals("committed")) {
            problems.add(new Problem(shown, ref.line(), ref.column(), "committed." + table + ": models always read committed "
                    + "snapshots; name the table without 'committed.'"));
            return Optional.empty();
        }
        // other tables may come from outside the project (another writer of the same catalog): `watershed validate`
        // warns about those no part of the project makes (see warnings), and a build fails at the reference if it is missing
        return Optional.of(new TableRef(namespace, table, false, ref.line(), ref.column()));
    }

    /** A model may not read itself, directly or through others. */
    void checkCycles(Map<String, ModelSpec> models) {
        Map<String, Integer> state = new HashMap<>(); // 1 visiting, 2 done
        Set<String> reported = new HashSet<>();
        for (String name : models.keySet()) {
            visit(name, models, state, new ArrayList<>(), reported);
        }
    }

    private void visit(String name, Map<String, ModelSpec> models, Map<String, Integer> state, List<String> path, Set<String> reported) {
        Integer s = state.get(name);
        if (s != null && s == 2) {
            return;
        }
        if (s != null && s == 1) {
            List<String> cycle = new ArrayList<>(path.subList(path.indexOf(name), path.size()));
            cycle.add(name);
            String from = cycle.get(cycle.size() - 2);
            ModelSpec model = models.get(from);
            if (reported.add(new TreeSet<>(cycle).toString())) {
                TableRef ref = model.references().stream().filter(r -> r.model() && r.name().equals(name)).findFirst().orElseThrow();
                problems.add(new Problem(directory.relativize(model.file()).toString(), ref.line(), ref.column(), "model '" + from
                        + "' is in a cycle: " + String.join(" -> ", cycle) + " (each reads the next); a model cannot depend on "
                        + "itself"));
            }
            return;
        }
        state.put(name, 1);
        path.add(name);
        for (String upstream : models.get(name).upstreamModels()) {
            visit(upstream, models, state, path, reported);
        }
        path.remove(path.size() - 1);
        state.put(name, 2);
    }
}
