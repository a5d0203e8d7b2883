package io.watershed.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code watershed pipelines [stop|restart NAME]}: each pipeline with its state, throughput, lag and outputs. */
@Command(name = "pipelines", description = "List the running platform's pipelines with state, throughput, lag and outputs.",
        mixinStandardHelpOptions = true, subcommands = {PipelinesCommand.Stop.class, PipelinesCommand.Restart.class})
final class PipelinesCommand implements Callable<Integer> {
    @Mixin
    ServerOptions server;

    @Override
    public Integer call() throws IOException {
        ApiClient.Response response = new ApiClient(server).get("/v1/pipelines");
        if (response.statusCode() != 200) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, ApiClient.errorMessage(response));
        }
        JsonNode pipelines = ApiClient.JSON.readTree(response.body()).path("pipelines");
        if (pipelines.isEmpty()) {
            System.out.println("No pipelines. Add Flink SQL files under pipelines/ in the project (see the README).");
            return 0;
        }
        int status = print(System.out, pipelines);
        printSinks(System.out, ApiClient.JSON.readTree(response.body()).path("sinks"));
        return status;
    }

    /** One line per sink: what it wrote, what waits, its errors and the last one. */
    static void printSinks(PrintStream out, JsonNode sinks) {
        if (sinks.isEmpty()) {
            return;
        }
        out.println();
        out.printf("%-24s %12s %9s %8s %12s %10s%n", "SINK", "ROWS", "PENDING", "ERRORS", "DEAD LETTERS", "FLUSH");
        for (JsonNode sink : sinks) {
            out.printf("%-24s %12d %9d %8d %12d %9.3fs%n", "sinks." + sink.path("name").asText(), sink.path("rows_written").asLong(),
                    sink.path("pending_rows").asLong(), sink.path("errors").asLong(), sink.path("dead_letters").asLong(),
                    sink.path("last_flush_seconds").asDouble());
            if (!sink.path("last_error").isNull() && !sink.path("last_error").asText().isEmpty()) {
                out.println("  last error: " + sink.path("last_error").asText());
            }
            if (!sink.path("last_dead_letter").isNull() && !sink.path("last_dead_letter").asText().isEmpty()) {
                out.println("  last dead letter: " + sink.path("last_dead_letter").asText());
            }
        }
    }

    /** One line per pipeline, its error below it; 1 when any has an error. */
    static int print(PrintStream out, Iterable<JsonNode> pipelines) {
        out.printf("%-24s %-12s %9s %9s %12s %8s %10s  %s%n", "PIPELINE", "STATE", "EVENTS/S", "LAG", "BACKPRESSURE", "RESTARTS",
                "UNREADABLE", "OUTPUTS");
        int failed = 0;
        for (JsonNode p : pipelines) {
            StringBuilder outputs = new StringBuilder();
            p.path("outputs").forEach(o -> outputs.append(outputs.isEmpty() ? "" : ", ").append(o.asText()));
            String backpressure = p.path("backpressure").isNumber()
                    ? Math.round(p.path("backpressure").asDouble() * 100) + "% " + p.path("backpressure_level").asText() : "-";
            out.printf("%-24s %-12s %9.1f %9d %12s %8d %10d  %s%n", p.path("name").asText(), p.path("state").asText(),
                    p.path("events_per_second").asDouble(), p.path("lag").asLong(), backpressure, p.path("restarts").asLong(),
                    p.path("unreadable_records").asLong(), outputs);
            if (!p.path("error").isNull() && !p.path("error").asText().isEmpty()) {
                out.println("  " + p.path("error").asText());
                failed++;
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private static int post(ServerOptions server, String path) throws IOException {
        ApiClient.Response response = new ApiClient(server).post(path, "",
                "application/json");
        if (response.statusCode() != 200) {
            ErrorCode code = response.statusCode() == 404 ? ErrorCode.UNKNOWN_PIPELINE
                    : response.statusCode() == 409 ? ErrorCode.CONFLICT : ErrorCode.UNAVAILABLE;
            throw new WatershedException(code, ApiClient.errorMessage(response));
        }
        return print(System.out, List.of(ApiClient.JSON.readTree(response.body())));
    }

    /** An action on one pipeline: POST /v1/pipelines/NAME/ACTION, then its status line. */
    abstract static class Action implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "NAME", description = "The pipeline (its file is pipelines/NAME.sql).")
        String name;

        abstract String path();

        @Override
        public Integer call() throws IOException {
            return post(server, "/v1/pipelines/" + name + "/" + path());
        }
    }

    @Command(name = "stop", description = "Stop a pipeline, keeping its state (a savepoint) for its next start.",
            mixinStandardHelpOptions = true)
    static final class Stop extends Action {
        @Override
        String path() {
            return "stop";
        }
    }

    @Command(name = "restart", description = "Stop a pipeline if it runs, read its file again and start it from its state.",
            mixinStandardHelpOptions = true)
    static final class Restart extends Action {
        @Option(names = "--reset", description = "Start without state: read the streams from the beginning again, live "
                + "views start empty; rows already written to lake tables and streams stay.")
        boolean reset;

        @Override
        String path() {
            return "restart" + (reset ? "?reset=true" : "");
        }
    }
}
