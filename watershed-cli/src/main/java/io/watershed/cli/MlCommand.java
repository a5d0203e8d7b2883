package io.watershed.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code watershed ml [versions|train|promote|predict]}: the trained models of {@code ml/*.yaml} and their versions. */
@Command(name = "ml", description = "List the trained models (ml/*.yaml) with their production version and its metrics.",
        mixinStandardHelpOptions = true, subcommands = {MlCommand.Versions.class, MlCommand.Train.class, MlCommand.Promote.class,
                MlCommand.Predict.class})
final class MlCommand implements Callable<Integer> {
    @Mixin
    ServerOptions server;

    @Override
    public Integer call() throws IOException {
        JsonNode models = read(new ApiClient(server).get("/v1/ml"), 200).path("models");
        if (models.isEmpty()) {
            System.out.println("No ml models. Add ml/<name>.yaml to the project (see \"Train and serve a model\" in the README).");
            return 0;
        }
        System.out.printf("%-24s %-11s %-10s %7s  %s%n", "MODEL", "OBJECTIVE", "PRODUCTION", "LATEST", "METRICS");
        for (JsonNode m : models) {
            JsonNode production = m.path("production");
            System.out.printf("%-24s %-11s %-10s %7s  %s%n", m.path("name").asText(), m.path("objective").asText(),
                    production.isNull() ? "-" : "v" + production.path("version").asInt(),
                    m.path("latest_version").isNull() ? "-" : "v" + m.path("latest_version").asInt(),
                    production.isNull() ? "" : metrics(production.path("metrics")));
        }
        return 0;
    }

    static String metrics(JsonNode metrics) {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, JsonNode> metric : metrics.properties()) {
            text.append(text.isEmpty() ? "" : " ").append(metric.getKey()).append('=')
                    .append(String.format(java.util.Locale.ROOT, "%.4f", metric.getValue().asDouble()));
        }
        return text.toString();
    }

    /** One line per version: number, stage, metrics, rows, when. */
    static void printVersions(PrintStream out, Iterable<JsonNode> versions) {
        out.printf("%-8s %-11s %10s %9s  %-20s  %s%n", "VERSION", "STAGE", "TRAINED ON", "TESTED ON", "CREATED", "METRICS");
        for (JsonNode v : versions) {
            out.printf("%-8s %-11s %10d %9d  %-20s  %s%n", "v" + v.path("version").asInt(), v.path("stage").asText(),
                    v.path("training_rows").asLong(), v.path("test_rows").asLong(),
                    v.path("created_at").asText().replaceFirst("\\.\\d+Z$", "Z"), metrics(v.path("metrics")));
        }
    }

    static JsonNode read(ApiClient.Response response, int expected) throws IOException {
        if (response.statusCode() != expected) {
            ErrorCode code = switch (response.statusCode()) {
                case 400 -> ErrorCode.INVALID_INPUT;
                case 403 -> ErrorCode.FORBIDDEN;
                case 404 -> ErrorCode.UNKNOWN_MODEL;
                case 409 -> ErrorCode.CONFLICT;
                default -> ErrorCode.UNAVAILABLE;
            };
            throw new WatershedException(code, ApiClient.errorMessage(response));
        }
        return ApiClient.JSON.readTree(response.body());
    }

    @Command(name = "versions", description = "List a model's versions, newest first.", mixinStandardHelpOptions = true)
    static final class Versions implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "NAME", description = "The model (its file is ml/NAME.yaml).")
        String name;

        @Override
        public Integer call() throws IOException {
            printVersions(System.out, read(new ApiClient(server).get("/v1/ml/" + name + "/versions"), 200).path("versions"));
            return 0;
        }
    }

    @Command(name = "train", description = "Train a new version of a model now, from the lake; it starts as a candidate.",
            mixinStandardHelpOptions = true)
    static final class Train implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "NAME", description = "The model (its file is ml/NAME.yaml).")
        String name;

        @Override
        public Integer call() throws IOException {
            JsonNode version = read(new ApiClient(server).post("/v1/ml/" + name + "/train", "",
                    "application/json"), 201);
            printVersions(System.out, java.util.List.of(version));
            System.out.println("Promote it with: watershed ml promote " + name + " " + version.path("version").asInt());
            return 0;
        }
    }

    @Command(name = "promote", description = "Put a version in production (the one before is archived), if it meets the "
            + "model's promote_if.", mixinStandardHelpOptions = true)
    static final class Promote implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(index = "0", paramLabel = "NAME", description = "The model (its file is ml/NAME.yaml).")
        String name;

        @Parameters(index = "1", paramLabel = "VERSION", description = "The version number (3 or v3).")
        String version;

        @Override
        public Integer call() throws IOException {
            printVersions(System.out, java.util.List.of(read(new ApiClient(server).post("/v1/ml/" + name + "/versions/"
                    + version.replaceFirst("^v", "") + "/promote", "", "application/json"), 200)));
            return 0;
        }
    }

    @Command(name = "predict", description = "Score rows with the production version (or --version): a JSON array of "
            + "objects, feature name to value, as an argument or on standard input.", mixinStandardHelpOptions = true)
    static final class Predict implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(index = "0", paramLabel = "NAME", description = "The model (its file is ml/NAME.yaml).")
        String name;

        @Parameters(index = "1", paramLabel = "ROWS", arity = "0..1",
                description = "e.g. '[{\"x1\": 0.5, \"x2\": 1}]'; read from standard input when left out.")
        String rows;

        @Option(names = "--version", paramLabel = "N", description = "Score with this version instead of the production one.")
        Integer version;

        @Override
        public Integer call() throws IOException {
            String text = rows != null ? rows : new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
            JsonNode parsed;
            try {
                parsed = ApiClient.JSON.readTree(text);
            } catch (IOException e) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot score: the rows are not JSON (" + e.getMessage()
                        .split("\n")[0] + "); write a JSON array of objects, e.g. '[{\"x1\": 0.5}]'");
            }
            if (parsed == null || !(parsed.isArray() || parsed.isObject())) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot score: write the rows as a JSON array of objects, "
                        + "e.g. '[{\"x1\": 0.5}]'");
            }
            JsonNode array = parsed.isArray() ? parsed : ApiClient.JSON.createArrayNode().add(parsed);
            String body = ApiClient.JSON.writeValueAsString(Map.of("rows", array));
            JsonNode scored = read(new ApiClient(server).post("/v1/ml/" + name + "/predict" + (version == null ? "" : "?version=" + version),
                    body, "application/json"), 200);
            System.out.println("# " + name + " v" + scored.path("version").asInt() + " (" + scored.path("stage").asText() + ")");
            for (JsonNode prediction : scored.path("predictions")) {
                System.out.println(prediction.asDouble());
            }
            return 0;
        }
    }
}
