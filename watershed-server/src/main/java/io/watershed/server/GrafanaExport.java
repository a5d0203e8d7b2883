package io.watershed.server;

import io.watershed.project.Boards.Dashboard;
import io.watershed.project.Boards.Panel;
import io.watershed.project.SqlReferences;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A dashboard as Grafana dashboard JSON (import it with a Prometheus data source that scrapes {@code /metrics}).
 * Grafana cannot run the panels' DuckDB SQL, so the export shows what Prometheus has of the same objects: for each
 * stream the dashboard reads, events accepted, lake lag and dead letters; for each model, builds and rows; for live
 * views, the pipelines' state and lag. The SQL panels are listed in a text panel, to be opened in the console.
 */
final class GrafanaExport {
    private GrafanaExport() {}

    /** One Prometheus query per panel: the metric names are Micrometer's, as {@code /metrics} shows them. */
    record Metric(String title, String expr, String legend, String unit) {}

    static Map<String, Object> of(Dashboard dashboard, Collection<String> streams, Collection<String> pipelines, Collection<String> models) {
        Set<String> readStreams = new LinkedHashSet<>();
        Set<String> readModels = new LinkedHashSet<>();
        boolean live = false;
        for (Panel panel : dashboard.panels()) {
            for (SqlReferences.Reference ref : SqlReferences.of(panel.sql())) {
                List<String> parts = ref.parts().size() == 3 ? ref.parts().subList(1, 3) : ref.parts();
                if (parts.size() != 2) {
                    continue;
                }
                String name = parts.get(1).endsWith("__dlq") ? parts.get(1).substring(0, parts.get(1).length() - 5) : parts.get(1);
                if (parts.get(0).equals("raw") && streams.contains(name)) {
                    readStreams.add(name);
                } else if (parts.get(0).equals("live")) {
                    live = true;
                } else if (models.contains(parts.get(1))) {
                    readModels.add(parts.get(1));
                }
            }
        }
        List<Metric> metrics = metrics(readStreams, live ? pipelines : List.of(), readModels);
        List<Map<String, Object>> panels = new ArrayList<>();
        int id = 1;
        int y = 0;
        for (int i = 0; i < metrics.size(); i++) {
            Metric m = metrics.get(i);
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("id", id++);
            p.put("type", "timeseries");
            p.put("title", m.title());
            p.put("datasource", Map.of("type", "prometheus", "uid", "${datasource}"));
            p.put("gridPos", Map.of("x", (i % 2) * 12, "y", y, "w", 12, "h", 8));
            p.put("targets", List.of(Map.of("refId", "A", "expr", m.expr(), "legendFormat", m.legend())));
            p.put("fieldConfig", Map.of("defaults", Map.of("unit", m.unit()), "overrides", List.of()));
            panels.add(p);
            if (i % 2 == 1) {
                y += 8;
            }
        }
        if (metrics.size() % 2 == 1) {
            y += 8;
        }
        StringBuilder text = new StringBuilder("These panels run DuckDB SQL in the Watershed console (`/console/#/dashboards/")
                .append(dashboard.name()).append("`):\n\n");
        for (Panel panel : dashboard.panels()) {
            text.append("**").append(panel.title().isBlank() ? "(untitled)" : panel.title()).append("** (").append(panel.chart().type())
                    .append(")\n\n```sql\n").append(panel.sql()).append("\n```\n\n");
        }
        panels.add(Map.of("id", id, "type", "text", "title", "SQL panels (console only)", "gridPos", Map.of("x", 0, "y", y, "w", 24, "h", 10),
                "options", Map.of("mode", "markdown", "content", text.toString())));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("__inputs", List.of(Map.of("name", "DS_PROMETHEUS", "label", "Prometheus", "description",
                "The Prometheus that scrapes Watershed's /metrics", "type", "datasource", "pluginId", "prometheus", "pluginName", "Prometheus")));
        out.put("title", dashboard.title());
        out.put("uid", "watershed-" + dashboard.name());
        out.put("tags", List.of("watershed"));
        out.put("schemaVersion", 39);
        out.put("version", 1);
        out.put("editable", true);
        out.put("time", Map.of("from", "now-1h", "to", "now"));
        out.put("refresh", dashboard.refreshSeconds().map(s -> Math.max(5, s) + "s").orElse("1m"));
        out.put("templating", Map.of("list", List.of(Map.of("name", "datasource", "label", "Data source", "type", "datasource",
                "query", "prometheus", "current", Map.of("text", "${DS_PROMETHEUS}", "value", "${DS_PROMETHEUS}")))));
        out.put("panels", panels);
        return out;
    }

    static List<Metric> metrics(Collection<String> streams, Collection<String> pipelines, Collection<String> models) {
        List<Metric> out = new ArrayList<>();
        if (!streams.isEmpty()) {
            String s = regex(streams);
            out.add(new Metric("Events accepted per second", "sum by (stream) (rate(watershed_ingest_events_accepted_total{stream=~\"" + s
                    + "\"}[1m]))", "{{stream}}", "ops"));
            out.add(new Metric("Lake lag (records not yet in the lake)", "watershed_lake_lag_offsets{stream=~\"" + s + "\"}", "{{stream}}",
                    "short"));
            out.add(new Metric("Rows committed to the lake per second", "sum by (stream) (rate(watershed_lake_rows_written_total{stream=~\""
                    + s + "\"}[1m]))", "{{stream}}", "ops"));
            out.add(new Metric("Dead letters per minute", "sum by (stream) (increase(watershed_lake_dlq_rows_total{stream=~\"" + s
                    + "\"}[1m]))", "{{stream}}", "short"));
        }
        if (!pipelines.isEmpty()) {
            String p = regex(pipelines);
            out.add(new Metric("Pipelines running", "watershed_pipeline_running{pipeline=~\"" + p + "\"}", "{{pipeline}}", "short"));
            out.add(new Metric("Pipeline lag (records behind)", "watershed_pipeline_lag_records{pipeline=~\"" + p + "\"}", "{{pipeline}}",
                    "short"));
            out.add(new Metric("Pipeline backpressure (share of time waiting on output)", "watershed_pipeline_backpressure_ratio{pipeline=~\""
                    + p + "\"}", "{{pipeline}}", "percentunit"));
        }
        if (!models.isEmpty()) {
            String m = regex(models);
            out.add(new Metric("Model builds per hour", "sum by (model, outcome) (increase(watershed_model_builds_total{model=~\"" + m
                    + "\"}[1h]))", "{{model}} {{outcome}}", "short"));
        }
        return out;
    }

    private static String regex(Collection<String> names) {
        return String.join("|", names); // names are [a-z0-9_]: nothing to escape
    }
}
