package io.watershed.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code watershed sql}: runs one statement ({@code -c}) or opens an interactive SQL prompt with history. */
@Command(name = "sql", mixinStandardHelpOptions = true, description = "Query the lake with SQL (DuckDB dialect). Without -c, opens a prompt.")
final class SqlCommand implements Callable<Integer> {
    enum Format { box, csv, json }

    @Option(names = {"-c", "--command"}, paramLabel = "SQL", description = "Run this statement and exit.")
    String command;

    @Option(names = "--format", defaultValue = "box", description = "Output: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    Format format;

    @Mixin
    ServerOptions server;

    @Override
    public Integer call() throws IOException {
        ApiClient api = new ApiClient(server);
        if (command != null) {
            return run(api, command, System.out) ? 0 : 1;
        }
        try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
            LineReader reader = LineReaderBuilder.builder().terminal(terminal).appName("watershed")
                    .variable(LineReader.HISTORY_FILE, Path.of(System.getProperty("user.home"), ".watershed_history"))
                    .build();
            terminal.writer().println("Connected to " + server.url() + ". End statements with ';'. Ctrl-D quits.");
            StringBuilder statement = new StringBuilder();
            while (true) {
                String line;
                try {
                    line = reader.readLine(statement.isEmpty() ? "watershed> " : "       ...> ");
                } catch (UserInterruptException e) {
                    statement.setLength(0);
                    continue;
                } catch (EndOfFileException e) {
                    return 0;
                }
                statement.append(line).append('\n');
                String text = statement.toString().strip();
                if (text.endsWith(";")) {
                    statement.setLength(0);
                    try {
                        run(api, text.substring(0, text.length() - 1), new PrintStream(terminal.output(), true));
                    } catch (WatershedException e) {
                        terminal.writer().println("error: " + e.getMessage());
                    }
                    terminal.flush();
                }
            }
        }
    }

    private boolean run(ApiClient api, String sql, PrintStream out) throws IOException {
        String body = ApiClient.JSON.writeValueAsString(Map.of("sql", sql));
        ApiClient.Response response = api.post("/v1/sql", body, "application/json",
                "Accept", format == Format.csv ? "text/csv" : "application/json");
        if (response.statusCode() != 200) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, ApiClient.errorMessage(response));
        }
        switch (format) {
            case csv -> out.print(response.body());
            case json -> out.println(response.body());
            default -> printBox(ApiClient.JSON.readTree(response.body()), out);
        }
        out.flush();
        return true;
    }

    static void printBox(JsonNode result, PrintStream out) {
        List<String> columns = new ArrayList<>();
        result.path("columns").forEach(c -> columns.add(c.asText()));
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode row : result.path("rows")) {
            List<String> cells = new ArrayList<>();
            row.forEach(v -> cells.add(v.isNull() ? "NULL" : v.isValueNode() ? v.asText() : v.toString()));
            rows.add(cells);
        }
        int[] widths = new int[columns.size()];
        for (int i = 0; i < columns.size(); i++) {
            widths[i] = columns.get(i).length();
            for (List<String> row : rows) {
                widths[i] = Math.min(60, Math.max(widths[i], row.get(i).length()));
            }
        }
        out.println(rule('┌', '┬', '┐', widths));
        out.println(line(columns, widths));
        out.println(rule('├', '┼', '┤', widths));
        for (List<String> row : rows) {
            out.println(line(row, widths));
        }
        out.println(rule('└', '┴', '┘', widths));
        String summary = rows.size() + (rows.size() == 1 ? " row" : " rows") + " (" + result.path("elapsed_ms").asLong() + " ms)";
        if (result.path("truncated").asBoolean()) {
            summary += " — " + result.path("note").asText();
        }
        out.println(summary);
    }

    private static String rule(char left, char middle, char right, int[] widths) {
        StringBuilder b = new StringBuilder().append(left);
        for (int i = 0; i < widths.length; i++) {
            b.append("─".repeat(widths[i] + 2)).append(i == widths.length - 1 ? right : middle);
        }
        return b.toString();
    }

    private static String line(List<String> cells, int[] widths) {
        StringBuilder b = new StringBuilder("│");
        for (int i = 0; i < widths.length; i++) {
            String cell = cells.get(i).replace('\n', ' ');
            if (cell.length() > widths[i]) {
                cell = cell.substring(0, widths[i] - 1) + "…";
            }
            b.append(' ').append(cell).append(" ".repeat(widths[i] - cell.length())).append(" │");
        }
        return b.toString();
    }
}
