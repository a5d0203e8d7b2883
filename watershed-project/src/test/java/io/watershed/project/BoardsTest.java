package io.watershed.project;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.project.Boards.Chart;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BoardsTest {
    @TempDir
    Path dir;

    private Boards boards() {
        return new ProjectLoader(Map.of()).boards(dir);
    }

    @Test
    void chartsParseFromTheirOneLineFormAndRefuseUnknownTypes() {
        Chart c = Chart.parse("line x=minute y=clicks,views");
        assertThat(c.type()).isEqualTo("line");
        assertThat(c.x()).contains("minute");
        assertThat(c.y()).containsExactly("clicks", "views");
        assertThat(Chart.parse(c.text())).isEqualTo(c);
        assertThat(Chart.parse("table").y()).isEmpty();
        assertThatThrownBy(() -> Chart.parse("radar x=a")).hasMessageContaining("radar").hasMessageContaining("line");
        assertThatThrownBy(() -> Chart.parse("line minute")).hasMessageContaining("line x=minute y=clicks");
    }

    @Test
    void aSavedQueryRoundTripsThroughItsFile() throws IOException {
        ProjectLoader.saveQuery(dir, "per_minute", "Per minute", Optional.of(Chart.parse("bar x=m y=n")), "SELECT 1 AS m, 2 AS n\n");
        assertThat(Files.readString(dir.resolve("queries/per_minute.sql")))
                .isEqualTo("-- title: Per minute\n-- chart: bar x=m y=n\nSELECT 1 AS m, 2 AS n\n");
        Boards.SavedQuery q = boards().query("per_minute").orElseThrow();
        assertThat(q.title()).isEqualTo("Per minute");
        assertThat(q.sql()).isEqualTo("SELECT 1 AS m, 2 AS n");
        assertThat(q.chart()).contains(Chart.parse("bar x=m y=n"));
        assertThatThrownBy(() -> ProjectLoader.saveQuery(dir, "../escape", "", Optional.empty(), "SELECT 1"))
                .hasMessageContaining("not valid");
        assertThat(dir.getParent().resolve("escape.sql")).doesNotExist();
    }

    @Test
    void dashboardsTakeTheirPanelsSqlAndChartFromSavedQueriesOrTheirOwn() throws IOException {
        ProjectFiles.write(dir, "queries/per_minute.sql", "-- title: Per minute\n-- chart: line x=m y=n\nSELECT 1 AS m, 2 AS n\n");
        ProjectFiles.write(dir, "dashboards/main.yaml", """
                title: Main
                refresh: 10s
                panels:
                  - query: per_minute
                    w: 8
                  - title: Own
                    sql: SELECT 'a' AS k, 3 AS v
                    chart: {type: pie, x: k, y: [v]}
                  - sql: SELECT 1
                """);
        Boards b = boards();
        assertThat(b.problems()).isEmpty();
        Boards.Dashboard d = b.dashboard("main").orElseThrow();
        assertThat(d.refreshSeconds()).contains(10);
        assertThat(d.panels()).hasSize(3);
        assertThat(d.panels().get(0).title()).isEqualTo("Per minute");
        assertThat(d.panels().get(0).chart().type()).isEqualTo("line");
        assertThat(d.panels().get(0).width()).isEqualTo(8);
        assertThat(d.panels().get(1).chart().y()).containsExactly("v");
        assertThat(d.panels().get(2).chart().type()).isEqualTo("table");
        assertThat(d.panels().get(2).width()).isEqualTo(6);
    }

    @Test
    void aDashboardOnALiveViewRefreshesBySelfUnlessItsFileSaysOtherwise() throws IOException {
        ProjectFiles.write(dir, "dashboards/live.yaml", "panels:\n  - sql: SELECT page, hits FROM live.page_counts\n");
        ProjectFiles.write(dir, "dashboards/lake.yaml", "panels:\n  - sql: SELECT count(*) FROM raw.clicks\n");
        ProjectFiles.write(dir, "dashboards/off.yaml", "refresh: off\npanels:\n  - sql: SELECT * FROM watershed.live.page_counts\n");
        ProjectFiles.write(dir, "dashboards/slow.yaml", "refresh: 1m\npanels:\n  - sql: SELECT * FROM live.page_counts\n");
        Boards b = boards();
        assertThat(b.problems()).isEmpty();
        assertThat(b.dashboard("live").orElseThrow().refreshSeconds()).contains(BoardLoader.LIVE_REFRESH_SECONDS);
        assertThat(b.dashboard("lake").orElseThrow().refreshSeconds()).isEmpty();
        assertThat(b.dashboard("off").orElseThrow().refreshSeconds()).isEmpty();
        assertThat(b.dashboard("slow").orElseThrow().refreshSeconds()).contains(60);
    }

    @Test
    void everyMistakeInADashboardIsReportedWithItsLine() throws IOException {
        ProjectFiles.write(dir, "dashboards/bad.yaml", """
                title: Bad
                colour: red
                panels:
                  - query: missing
                  - sql: SELECT 1
                    query: also
                  - sql: SELECT 1
                    chart: radar
                  - sql: SELECT 1
                    w: 13
                """);
        List<String> problems = boards().problems().stream().map(Problem::toString).toList();
        assertThat(problems).anyMatch(p -> p.startsWith("dashboards/bad.yaml:2:1: unknown key 'colour'"));
        assertThat(problems).anyMatch(p -> p.startsWith("dashboards/bad.yaml:4:") && p.contains("no saved query 'missing'"));
        assertThat(problems).anyMatch(p -> p.startsWith("dashboards/bad.yaml:5:") && p.contains("exactly one of query"));
        assertThat(problems).anyMatch(p -> p.startsWith("dashboards/bad.yaml:8:") && p.contains("radar"));
        assertThat(problems).anyMatch(p -> p.startsWith("dashboards/bad.yaml:10:"));
        assertThat(boards().dashboard("bad")).isEmpty();
    }
}
