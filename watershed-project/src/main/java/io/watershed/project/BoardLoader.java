package io.watershed.project;

import io.watershed.project.Boards.Chart;
import io.watershed.project.Boards.Dashboard;
import io.watershed.project.Boards.Panel;
import io.watershed.project.Boards.SavedQuery;
import io.watershed.spi.SettingType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/** Reads {@code queries/*.sql} and {@code dashboards/*.yaml}; every mistake becomes a {@link Problem} with its line. */
final class BoardLoader {
    private static final Pattern HEADER = Pattern.compile("--\\s*(title|chart)\\s*:\\s*(.*)");
    private static final Set<String> DASHBOARD_KEYS = Set.of("title", "refresh", "panels");
    private static final Set<String> PANEL_KEYS = Set.of("title", "query", "sql", "chart", "w", "h");
    private static final Set<String> CHART_KEYS = Set.of("type", "x", "y");
    /** How often a dashboard that reads a live view refreshes when its file does not say. */
    static final int LIVE_REFRESH_SECONDS = 5;

    private final ProjectLoader loader;
    private final Path directory;
    private final List<Problem> problems = new ArrayList<>();

    BoardLoader(ProjectLoader loader, Path directory) {
        this.loader = loader;
        this.directory = directory;
    }

    Boards load() {
        List<SavedQuery> queries = new ArrayList<>();
        for (Path file : files("queries", ".sql")) {
            query(file).ifPresent(queries::add);
        }
        List<Dashboard> dashboards = new ArrayList<>();
        for (Path file : files("dashboards", ".yaml", ".yml")) {
            dashboard(file, queries).ifPresent(dashboards::add);
        }
        return new Boards(List.copyOf(queries), List.copyOf(dashboards), List.copyOf(problems));
    }

    /** The text of a saved query's file: header lines, then the SQL. */
    static String queryFile(String title, Optional<Chart> chart, String sql) {
        StringBuilder out = new StringBuilder();
        if (!title.isBlank()) {
            out.append("-- title: ").append(title.replaceAll("[\\r\\n]+", " ").strip()).append('\n');
        }
        chart.ifPresent(c -> out.append("-- chart: ").append(c.text()).append('\n'));
        return out.append(sql.strip()).append('\n').toString();
    }

    private Optional<SavedQuery> query(Path file) {
        String display = directory.relativize(file).toString();
        String name = stem(file);
        if (!Boards.NAME.matcher(name).matches()) {
            problems.add(new Problem(display, 1, 1, "query name '" + name + "' is not valid: use lower-case letters, digits and _"));
            return Optional.empty();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            problems.add(new Problem(display, 1, 1, "cannot read file: " + e.getMessage()));
            return Optional.empty();
        }
        String title = name;
        Optional<Chart> chart = Optional.empty();
        int body = 0;
        for (; body < lines.size(); body++) {
            Matcher m = HEADER.matcher(lines.get(body).strip());
            if (!m.matches()) {
                break;
            }
            if (m.group(1).equals("title")) {
                title = m.group(2).strip();
            } else {
                try {
                    chart = Optional.of(Chart.parse(m.group(2)));
                } catch (IllegalArgumentException e) {
                    problems.add(new Problem(display, body + 1, 1, e.getMessage()));
                }
            }
        }
        String sql = String.join("\n", lines.subList(body, lines.size())).strip();
        if (sql.isEmpty()) {
            problems.add(new Problem(display, Math.max(1, body), 1, "the query has no SQL: write a SELECT after the header lines"));
            return Optional.empty();
        }
        return Optional.of(new SavedQuery(name, title, sql, chart, display));
    }

    private Optional<Dashboard> dashboard(Path file, List<SavedQuery> queries) {
        ProjectLoader.FileReader reader = loader.new FileReader(directory, file, problems);
        String name = stem(file);
        if (!Boards.NAME.matcher(name).matches()) {
            problems.add(new Problem(reader.displayName(), 1, 1, "dashboard name '" + name + "' is not valid: use lower-case letters, digits and _"));
            return Optional.empty();
        }
        Optional<MappingNode> doc = reader.document();
        if (doc.isEmpty()) {
            return Optional.empty();
        }
        int before = reader.problemCount();
        Map<String, NodeTuple> top = reader.entries(doc.get(), DASHBOARD_KEYS, "a dashboard");
        String title = top.containsKey("title") ? reader.string(top.get("title").getValueNode()).orElse(name) : name;
        Optional<Integer> refresh = Optional.empty();
        Node refreshNode = top.containsKey("refresh") ? top.get("refresh").getValueNode() : null;
        boolean refreshOff = refreshNode instanceof ScalarNode s && s.getValue().equals("off");
        if (refreshNode != null && !refreshOff) {
            refresh = reader.convert(refreshNode, SettingType.DURATION).map(Duration.class::cast)
                    .map(d -> (int) Math.max(1, d.toSeconds()));
        }
        List<Panel> panels = new ArrayList<>();
        if (!top.containsKey("panels")) {
            reader.problem(doc.get(), "a dashboard needs panels: a list of {title, query or sql, chart, w, h}");
        } else {
            for (Node item : reader.list(top.get("panels").getValueNode(), "panels").orElse(List.of())) {
                reader.mapping(item, "a panel").flatMap(m -> panel(reader, m, queries)).ifPresent(panels::add);
            }
        }
        if (reader.problemCount() > before) {
            return Optional.empty();
        }
        if (refreshNode == null && panels.stream().anyMatch(BoardLoader::readsLiveView)) {
            refresh = Optional.of(LIVE_REFRESH_SECONDS); // a live view changes by the second: show it so
        }
        return Optional.of(new Dashboard(name, title, refresh, List.copyOf(panels), reader.displayName()));
    }

    private static boolean readsLiveView(Panel panel) {
        return SqlReferences.of(panel.sql()).stream().anyMatch(r -> r.parts().size() >= 2 && r.parts().get(r.parts().size() - 2).equals("live"));
    }

    private Optional<Panel> panel(ProjectLoader.FileReader reader, MappingNode node, List<SavedQuery> queries) {
        Map<String, NodeTuple> e = reader.entries(node, PANEL_KEYS, "a panel");
        Optional<String> queryName = e.containsKey("query") ? reader.string(e.get("query").getValueNode()) : Optional.empty();
        Optional<String> ownSql = e.containsKey("sql") ? reader.string(e.get("sql").getValueNode()) : Optional.empty();
        if (queryName.isPresent() == ownSql.isPresent()) {
            reader.problem(node, "a panel needs exactly one of query: (a saved query in queries/) or sql: (its own SELECT)");
            return Optional.empty();
        }
        Optional<SavedQuery> saved = queryName.flatMap(n -> queries.stream().filter(q -> q.name().equals(n)).findFirst());
        if (queryName.isPresent()) {
            if (saved.isEmpty()) {
                reader.problem(e.get("query").getValueNode(), "no saved query '" + queryName.get() + "': add queries/" + queryName.get()
                        + ".sql (or save it from the console's SQL page); saved: "
                        + queries.stream().map(SavedQuery::name).sorted().toList());
                return Optional.empty();
            }
        }
        Optional<Chart> chart = Optional.empty();
        if (e.containsKey("chart")) {
            chart = chart(reader, e.get("chart").getValueNode());
            if (chart.isEmpty()) {
                return Optional.empty();
            }
        }
        String title = e.containsKey("title") ? reader.string(e.get("title").getValueNode()).orElse("")
                : saved.map(SavedQuery::title).orElse("");
        int w = e.containsKey("w") ? reader.integer(e.get("w").getValueNode(), 1, 12).orElse(6) : 6;
        int h = e.containsKey("h") ? reader.integer(e.get("h").getValueNode(), 1, 24).orElse(4) : 4;
        Chart drawn = chart.or(() -> saved.flatMap(SavedQuery::chart)).orElse(new Chart("table", Optional.empty(), List.of()));
        return Optional.of(new Panel(title, queryName, saved.map(SavedQuery::sql).orElseGet(ownSql::get), drawn, w, h));
    }

    private Optional<Chart> chart(ProjectLoader.FileReader reader, Node node) {
        try {
            if (node instanceof ScalarNode s) {
                return Optional.of(Chart.parse(s.getValue()));
            }
            Optional<MappingNode> m = reader.mapping(node, "chart");
            if (m.isEmpty()) {
                return Optional.empty();
            }
            Map<String, NodeTuple> e = reader.entries(m.get(), CHART_KEYS, "a chart");
            String type = e.containsKey("type") ? reader.string(e.get("type").getValueNode()).orElse("table") : "table";
            Optional<String> x = e.containsKey("x") ? reader.string(e.get("x").getValueNode()) : Optional.empty();
            List<String> y = new ArrayList<>();
            if (e.containsKey("y")) {
                for (Node item : reader.list(e.get("y").getValueNode(), "y").orElse(List.of())) {
                    reader.string(item).ifPresent(y::add);
                }
            }
            return Optional.of(new Chart(type, x, y));
        } catch (IllegalArgumentException ex) {
            reader.problem(node, ex.getMessage());
            return Optional.empty();
        }
    }

    private List<Path> files(String folder, String... suffixes) {
        Path dir = directory.resolve(folder);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> Stream.of(suffixes).anyMatch(x -> p.getFileName().toString().endsWith(x))).sorted().toList();
        } catch (IOException e) {
            problems.add(new Problem(folder, 1, 1, "cannot list " + folder + "/: " + e.getMessage()));
            return List.of();
        }
    }

    private static String stem(Path file) {
        String n = file.getFileName().toString();
        return n.substring(0, n.lastIndexOf('.'));
    }
}
