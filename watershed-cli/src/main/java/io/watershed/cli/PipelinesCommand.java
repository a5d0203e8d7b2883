package io.watershed.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code watershed pipelines}: each pipeline with its state, outputs and, when it failed, why. */
@Command(name = "pipelines", description = "List the running platform's pipelines with their state and outputs.",
        mixinStandardHelpOptions = true)
final class PipelinesCommand implements Callable<Integer> {
    @Mixin
    ServerOptions server;

    @Override
    public Integer call() throws IOException {
        HttpResponse<String> response = new ApiClient(server.url()).get("/v1/pipelines");
        if (response.statusCode() != 200) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, ApiClient.errorMessage(response));
        }
        JsonNode pipelines = ApiClient.JSON.readTree(response.body()).path("pipelines");
        PrintStream out = System.out;
        if (pipelines.isEmpty()) {
            out.println("No pipelines. Add Flink SQL files under pipelines/ in the project (see the README).");
            return 0;
        }
        out.printf("%-24s %-12s %s%n", "PIPELINE", "STATE", "OUTPUTS");
        int failed = 0;
        for (JsonNode p : pipelines) {
            StringBuilder outputs = new StringBuilder();
            p.path("outputs").forEach(o -> outputs.append(outputs.isEmpty() ? "" : ", ").append(o.asText()));
            out.printf("%-24s %-12s %s%n", p.path("name").asText(), p.path("state").asText(), outputs);
            if (!p.path("error").isNull() && !p.path("error").asText().isEmpty()) {
                out.println("  " + p.path("error").asText());
                failed++;
            }
        }
        return failed == 0 ? 0 : 1;
    }
}
