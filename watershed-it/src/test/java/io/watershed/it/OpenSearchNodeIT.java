package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watershed.testing.OpenSearchNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenSearch node tests and the search benchmark compare with ({@link OpenSearchNode}): it starts in its own JVM,
 * indexes a document over plain HTTP, finds it by a word of its text, and stops.
 */
class OpenSearchNodeIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path root;

    @Test
    void indexesAndFindsADocument() throws Exception {
        long start = System.nanoTime();
        try (OpenSearchNode node = OpenSearchNode.start(root.resolve("opensearch"))) {
            System.out.printf("OpenSearchNode: healthy in %d ms at %s%n", (System.nanoTime() - start) / 1_000_000, node.url());
            assertThat(JSON.readTree(node.send("GET", "/", null).body()).path("version").path("number").asText()).startsWith("2.19.");
            HttpResponse<String> created = node.send("PUT", "/logs", """
                    {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                     "mappings": {"properties": {"time": {"type": "date"}, "level": {"type": "keyword"}, "message": {"type": "text"}}}}""");
            assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
            HttpResponse<String> indexed = node.send("PUT", "/logs/_doc/1?refresh=true",
                    "{\"time\": \"2026-12-07T12:00:00Z\", \"level\": \"ERROR\", \"message\": \"Connection refused by payment-gateway\"}");
            assertThat(indexed.statusCode()).as(indexed.body()).isEqualTo(201);
            JsonNode found = JSON.readTree(node.send("POST", "/logs/_search",
                    "{\"query\": {\"bool\": {\"must\": {\"match\": {\"message\": \"refused\"}}, \"filter\": {\"term\": {\"level\": \"ERROR\"}}}}}")
                    .body());
            assertThat(found.path("hits").path("total").path("value").asLong()).isEqualTo(1);
            assertThat(found.path("hits").path("hits").get(0).path("_id").asText()).isEqualTo("1");
            assertThat(node.health()).isIn("green", "yellow");
        }
    }
}
