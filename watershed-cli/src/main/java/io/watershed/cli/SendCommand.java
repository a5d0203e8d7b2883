package io.watershed.cli;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code watershed send}: posts NDJSON to a stream in batches with a progress bar. Each batch carries
 * an Idempotency-Key, so retrying it after 429/503 never writes twice.
 */
@Command(name = "send", mixinStandardHelpOptions = true, description = "Send NDJSON events (one JSON object per line) to a stream.")
final class SendCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "STREAM", description = "Stream name.")
    String stream;

    @Parameters(index = "1", paramLabel = "FILE", defaultValue = "-", description = "NDJSON file, or - for standard input (default).")
    String file;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "5000", description = "Events per request (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Mixin
    ServerOptions server;

    @Override
    public Integer call() throws IOException {
        ApiClient api = new ApiClient(server);
        boolean stdin = file.equals("-");
        long total = stdin ? -1 : Files.size(Path.of(file));
        long sent = 0;
        try (BufferedReader in = stdin ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                        : Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8);
                ProgressBar progress = new ProgressBarBuilder().setTaskName("send " + stream).setInitialMax(total)
                        .setStyle(ProgressBarStyle.ASCII).setUnit(" KiB", 1024).showSpeed().continuousUpdate().build()) {
            StringBuilder batch = new StringBuilder();
            int events = 0;
            long lineNumber = 0;
            long batchFirstLine = 1;
            String line;
            while ((line = in.readLine()) != null) {
                lineNumber++;
                if (events == 0) {
                    batchFirstLine = lineNumber;
                }
                progress.stepBy(line.length() + 1L);
                if (line.isBlank()) {
                    batch.append('\n');
                    continue;
                }
                batch.append(line).append('\n');
                events++;
                if (events >= batchSize) {
                    sent += post(api, batch.toString(), batchFirstLine);
                    batch.setLength(0);
                    events = 0;
                }
            }
            if (events > 0) {
                sent += post(api, batch.toString(), batchFirstLine);
            }
        }
        System.out.println("accepted " + sent + " event(s) into stream '" + stream + "'");
        return 0;
    }

    private int post(ApiClient api, String body, long firstLine) {
        String key = UUID.randomUUID().toString();
        for (int attempt = 1; ; attempt++) {
            ApiClient.Response response = api.post("/v1/streams/" + stream + "/events",
                    body, "application/x-ndjson", "Idempotency-Key", key);
            if (response.statusCode() == 200) {
                try {
                    return ApiClient.JSON.readTree(response.body()).path("accepted").asInt();
                } catch (IOException e) {
                    throw new WatershedException(ErrorCode.INTERNAL, "Cannot read the answer: " + response.body(), e);
                }
            }
            if ((response.statusCode() == 429 || response.statusCode() == 503) && attempt < 10) {
                long wait = response.header("Retry-After").map(Long::parseLong).orElse(1L);
                try {
                    Thread.sleep(wait * 1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new WatershedException(ErrorCode.UNAVAILABLE, "Interrupted while waiting to retry", e);
                }
                continue;
            }
            String message = ApiClient.errorMessage(response);
            if (response.statusCode() == 400) {
                try {
                    long line = ApiClient.JSON.readTree(response.body()).path("error").path("line").asLong(0);
                    if (line > 0) {
                        message = "line " + (firstLine + line - 1) + " of " + (file.equals("-") ? "the input" : file)
                                + " (this batch was not stored; earlier batches were): " + message;
                    }
                } catch (IOException ignored) {
                    // keep the plain message
                }
            }
            throw new WatershedException(ErrorCode.INVALID_INPUT, message);
        }
    }
}
