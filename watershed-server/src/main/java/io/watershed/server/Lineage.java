package io.watershed.server;

import io.watershed.project.SqlReferences;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.Project;
import io.watershed.spi.StreamProcessor.PipelineStatus;
import io.watershed.spi.StreamSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The project's lineage graph: streams land in raw tables; pipelines read streams and lake tables and
 * write tables, streams, live views and sinks; models read tables and write their own. Node ids are
 * {@code kind:name}: {@code stream:clicks}, {@code table:raw.clicks}, {@code pipeline:sessions},
 * {@code live:top_pages}, {@code sink:page_counts}, {@code model:daily_top}; ml models read tables ({@code ml:churn}).
 */
final class Lineage {
    private static final Pattern STREAM_REFERENCE = Pattern.compile("(?i)(?<![\\w`])`?streams`?\\s*\\.\\s*`?([a-z][a-z0-9_]*)`?");

    record Node(String id, String kind, String name) {}

    record Edge(String from, String to) {}

    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private final Set<Edge> edges = new LinkedHashSet<>();

    /**
     * @param streams every stream the platform has (declared and created on first use)
     * @param pipelines their status (outputs as planned); a pipeline not yet planned is read from its file
     */
    static Lineage of(Project project, Collection<StreamSpec> streams, List<PipelineStatus> pipelines) {
        Lineage g = new Lineage();
        for (StreamSpec stream : streams) {
            g.edge(g.node("stream", stream.name()), g.node("table", "raw." + stream.name()));
            if (stream.stateTable()) {
                g.edge(g.node("stream", stream.name()), g.node("table", "state." + stream.name()));
            }
        }
        Map<String, PipelineStatus> statuses = new LinkedHashMap<>();
        pipelines.forEach(p -> statuses.put(p.name(), p));
        for (PipelineSpec pipeline : project.pipelines().values()) {
            String id = g.node("pipeline", pipeline.name());
            Set<String> outputs = new LinkedHashSet<>(Optional.ofNullable(statuses.get(pipeline.name())).map(PipelineStatus::outputs)
                    .filter(o -> !o.isEmpty()).orElseGet(() -> List.copyOf(SqlReferences.pipelineOutputs(pipeline.sql()))));
            Set<String> written = new LinkedHashSet<>();
            for (String output : outputs) {
                String node;
                if (output.startsWith("streams.")) {
                    String stream = output.substring("streams.".length());
                    written.add(stream);
                    node = g.node("stream", stream);
                    g.edge(node, g.node("table", "raw." + stream));
                } else if (output.startsWith("live.")) {
                    node = g.node("live", output.substring("live.".length()));
                } else if (output.startsWith("sinks.")) {
                    node = g.node("sink", output.substring("sinks.".length()));
                } else {
                    node = g.node("table", output);
                }
                g.edge(id, node);
            }
            Matcher m = STREAM_REFERENCE.matcher(pipeline.sql());
            while (m.find()) {
                if (!written.contains(m.group(1))) {
                    g.edge(g.node("stream", m.group(1)), id);
                }
            }
            for (SqlReferences.Reference ref : SqlReferences.of(pipeline.sql())) {
                List<String> parts = ref.parts().size() == 3 ? ref.parts().subList(1, 3) : ref.parts();
                if (parts.size() == 2 && !parts.get(0).equals("streams") && !parts.get(0).equals("live")
                        && !parts.get(0).equals("sinks")) {
                    g.edge(g.node("table", parts.get(0) + "." + parts.get(1)), id);
                }
            }
        }
        for (ModelSpec model : project.models().values()) {
            String id = g.node("model", model.name());
            for (ModelSpec.TableRef ref : model.references()) {
                g.edge(g.node("table", ref.table()), id);
            }
            g.edge(id, g.node("table", model.table()));
        }
        for (io.watershed.spi.MlSpec ml : project.ml().values()) {
            String id = g.node("ml", ml.name());
            ml.reads().forEach(table -> g.edge(g.node("table", table), id));
        }
        return g;
    }

    private String node(String kind, String name) {
        String id = kind + ":" + name;
        nodes.putIfAbsent(id, new Node(id, kind, name));
        return id;
    }

    /** Adds each dashboard, fed by the tables and live views its panels' SQL reads. */
    Lineage withDashboards(List<io.watershed.project.Boards.Dashboard> dashboards) {
        for (io.watershed.project.Boards.Dashboard d : dashboards) {
            String id = node("dashboard", d.name());
            for (io.watershed.project.Boards.Panel panel : d.panels()) {
                for (SqlReferences.Reference ref : SqlReferences.of(panel.sql())) {
                    List<String> parts = ref.parts().size() == 3 ? ref.parts().subList(1, 3) : ref.parts();
                    if (parts.size() == 2) {
                        edge(parts.get(0).equals("live") ? node("live", parts.get(1)) : node("table", parts.get(0) + "." + parts.get(1)), id);
                    }
                }
            }
        }
        return this;
    }

    private void edge(String from, String to) {
        edges.add(new Edge(from, to));
    }

    List<Node> nodes() {
        return List.copyOf(nodes.values());
    }

    List<Edge> edges() {
        return List.copyOf(edges);
    }

    /** The node a user means by {@code name}: a node id, a table ({@code ns.t}), a model, pipeline, stream or live view. */
    Optional<String> find(String name) {
        if (nodes.containsKey(name)) {
            return Optional.of(name);
        }
        for (String kind : List.of("table", "model", "pipeline", "stream", "live", "sink", "dashboard", "ml")) {
            if (nodes.containsKey(kind + ":" + name)) {
                return Optional.of(kind + ":" + name);
            }
        }
        return Optional.empty();
    }

    /** The part of the graph upstream and downstream of {@code id}. */
    Lineage around(String id) {
        Lineage g = new Lineage();
        Set<String> keep = new LinkedHashSet<>();
        keep.add(id);
        collect(id, true, keep);
        collect(id, false, keep);
        for (String n : keep) {
            g.nodes.put(n, nodes.get(n));
        }
        for (Edge e : edges) {
            // only the edges on paths through the node: upstream edges into the upstream set, downstream out of it
            if (keep.contains(e.from()) && keep.contains(e.to()) && (reaches(e.to(), id) || reaches(id, e.from()))) {
                g.edges.add(e);
            }
        }
        return g;
    }

    private void collect(String id, boolean upstream, Set<String> into) {
        List<String> todo = new ArrayList<>(List.of(id));
        while (!todo.isEmpty()) {
            String next = todo.remove(todo.size() - 1);
            for (Edge e : edges) {
                String other = upstream ? (e.to().equals(next) ? e.from() : null) : (e.from().equals(next) ? e.to() : null);
                if (other != null && into.add(other)) {
                    todo.add(other);
                }
            }
        }
    }

    /** Whether {@code to} is reachable from {@code from} (or the same node). */
    private boolean reaches(String from, String to) {
        if (from.equals(to)) {
            return true;
        }
        Set<String> seen = new LinkedHashSet<>();
        collect(from, false, seen);
        return seen.contains(to);
    }
}
