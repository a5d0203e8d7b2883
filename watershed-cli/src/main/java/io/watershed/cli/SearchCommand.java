package io.watershed.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code watershed search STREAM 'query'}: the newest events of a stream's search index that match, or those to come. */
@Command(name = "search", mixinStandardHelpOptions = true, description = "Search a stream's log events (Lucene query syntax: "
        + "words, field:value, \"phrases\", wild*cards, [a TO b] ranges, AND/OR/NOT). The stream needs search: in its file.")
final class SearchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "STREAM", description = "The stream to search.")
    String stream;

    @Parameters(index = "1", paramLabel = "QUERY", defaultValue = "", description = "The query; empty finds every event.")
    String query;

    @Option(names = "--since", paramLabel = "DURATION", description = "Only events of the last DURATION, e.g. 15m, 1h, 7d.")
    String since;

    @Option(names = {"-n", "--limit"}, defaultValue = "20", description = "Newest hits to show (default ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--top", paramLabel = "FIELD", split = ",", description = "Also count the most frequent values of these keyword fields.")
    List<String> top = new ArrayList<>();

    @Option(names = {"-f", "--follow"}, description = "Keep printing new matches as they are indexed, until Ctrl-C.")
    boolean follow;

    @Option(names = "--json", description = "Print the API's JSON answer instead.")
    boolean json;

    @Mixin
    ServerOptions server;

    @Override
    public Integer call() throws IOException, InterruptedException {
        ApiClient api = new ApiClient(server);
        JsonNode first = fetch(api, since == null ? "" : "&since=" + encode(since), limit);
        if (json) {
            System.out.println(first.toString());
            return 0;
        }
        List<JsonNode> hits = new ArrayList<>();
        first.path("hits").forEach(hits::add);
        for (int i = hits.size() - 1; i >= 0; i--) { // oldest first, like a log
            print(hits.get(i), System.out);
        }
        System.out.println(first.path("total").asLong() + " matching events (" + hits.size() + " shown, "
                + first.path("elapsed_ms").asLong() + " ms)");
        first.path("top").fields().forEachRemaining(field -> {
            StringBuilder line = new StringBuilder("top ").append(field.getKey()).append(':');
            field.getValue().forEach(v -> line.append(' ').append(v.path("value").asText()).append(" (").append(v.path("count").asLong())
                    .append(')'));
            System.out.println(line);
        });
        if (!follow) {
            return 0;
        }
        String newest = hits.isEmpty() ? null : hits.get(0).path("time").asText();
        Set<String> printedAtNewest = new HashSet<>();
        hits.stream().filter(h -> h.path("time").asText().equals(hits.get(0).path("time").asText()))
                .forEach(h -> printedAtNewest.add(id(h)));
        while (true) {
            Thread.sleep(1000);
            JsonNode next = fetch(api, newest == null ? (since == null ? "" : "&since=" + encode(since)) : "&from=" + encode(newest),
                    1000);
            List<JsonNode> fresh = new ArrayList<>();
            next.path("hits").forEach(fresh::add);
            for (int i = fresh.size() - 1; i >= 0; i--) {
                JsonNode hit = fresh.get(i);
                if (hit.path("time").asText().equals(newest) && printedAtNewest.contains(id(hit))) {
                    continue;
                }
                print(hit, System.out);
                if (!hit.path("time").asText().equals(newest)) {
                    newest = hit.path("time").asText();
                    printedAtNewest.clear();
                }
                printedAtNewest.add(id(hit));
            }
        }
    }

    private JsonNode fetch(ApiClient api, String range, int max) throws IOException {
        String path = "/v1/search?stream=" + encode(stream) + "&q=" + encode(query) + "&limit=" + max + range
                + (top.isEmpty() ? "" : "&top=" + encode(String.join(",", top)));
        ApiClient.Response response = api.get(path);
        if (response.statusCode() != 200) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, ApiClient.errorMessage(response));
        }
        return ApiClient.JSON.readTree(response.body());
    }

    private static String id(JsonNode hit) {
        return hit.path("partition").asText() + ":" + hit.path("offset").asText();
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    static void print(JsonNode hit, PrintStream out) {
        out.println(hit.path("time").asText() + "  " + id(hit) + "  " + hit.path("source").toString());
    }
}
