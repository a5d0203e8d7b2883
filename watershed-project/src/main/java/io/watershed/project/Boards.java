package io.watershed.project;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The project's saved queries ({@code queries/<name>.sql}) and dashboards ({@code dashboards/<name>.yaml}), as read
 * from its directory at one moment, with what is wrong in them as {@code file:line:col: message}.
 */
public record Boards(List<SavedQuery> queries, List<Dashboard> dashboards, List<Problem> problems) {
    public static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,63}");

    public Optional<SavedQuery> query(String name) {
        return queries.stream().filter(q -> q.name().equals(name)).findFirst();
    }

    public Optional<Dashboard> dashboard(String name) {
        return dashboards.stream().filter(d -> d.name().equals(name)).findFirst();
    }

    /** How a result is drawn: {@code line|bar|area|scatter|pie|table}, its x column and y columns (empty: chosen by type). */
    public record Chart(String type, Optional<String> x, List<String> y) {
        public static final Set<String> TYPES = Set.of("line", "bar", "area", "scatter", "pie", "table");
        private static final Pattern TEXT = Pattern.compile("([a-z]+)((?:\\s+[xy]=[^\\s]+)*)\\s*");
        private static final Pattern PART = Pattern.compile("([xy])=([^\\s]+)");

        public Chart {
            if (!TYPES.contains(type)) {
                throw new IllegalArgumentException("chart type '" + type + "' is not one of " + new java.util.TreeSet<>(TYPES));
            }
            y = List.copyOf(y);
        }

        /** {@code line x=minute y=clicks,views}: the form a saved query's {@code -- chart:} line and a panel's {@code chart:} use. */
        public static Chart parse(String text) {
            Matcher m = TEXT.matcher(text.strip());
            if (!m.matches()) {
                throw new IllegalArgumentException("chart '" + text.strip() + "' is not '<type> [x=<column>] [y=<column>[,<column>...]]', "
                        + "for example 'line x=minute y=clicks'");
            }
            Optional<String> x = Optional.empty();
            List<String> y = List.of();
            Matcher part = PART.matcher(m.group(2));
            while (part.find()) {
                if (part.group(1).equals("x")) {
                    x = Optional.of(part.group(2));
                } else {
                    y = List.of(part.group(2).split(","));
                }
            }
            return new Chart(m.group(1), x, y);
        }

        public String text() {
            return type + x.map(c -> " x=" + c).orElse("") + (y.isEmpty() ? "" : " y=" + String.join(",", y));
        }
    }

    /** A query kept in git: {@code queries/<name>.sql}, with {@code -- title:} and {@code -- chart:} header lines. */
    public record SavedQuery(String name, String title, String sql, Optional<Chart> chart, String file) {}

    /**
     * A dashboard: panels on a 12-column grid, in order; each runs SQL (its own or a saved query's) and draws a chart.
     *
     * @param refreshSeconds how often the console reruns its panels: {@code refresh:}, else every 5 s when a panel reads a
     *     live view; empty ({@code refresh: off}, or no live view and no {@code refresh:}): only when opened
     */
    public record Dashboard(String name, String title, Optional<Integer> refreshSeconds, List<Panel> panels, String file) {}

    /** @param query the saved query the panel draws, if it names one (its SQL is then that query's) */
    public record Panel(String title, Optional<String> query, String sql, Chart chart, int width, int height) {}
}
