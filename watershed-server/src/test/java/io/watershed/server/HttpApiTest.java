package io.watershed.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.watershed.access.AccessStore;
import io.watershed.spi.Settings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP server on a real port: what a caller sees when a part fails under its request. */
class HttpApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient client = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    @Test
    void anAccessDatabaseThatCannotBeReadAnswers503WithRetryAfterNot500() throws Exception {
        AccessStore access = new AccessStore(dir.resolve("access.db"), Clock.systemUTC(), 100);
        String admin = access.adminToken(dir.resolve("admin.token"));
        AuditLog audit = new AuditLog(new io.watershed.spi.MemoryBus(), Clock.systemUTC(), new SimpleMeterRegistry(), Duration.ofHours(1));
        try (HttpApi http = new HttpApi(Settings.defaults().withPort(0).http(), new Authorization(access), audit,
                List.of(new AccessApi(access)))) {
            assertThat(get(http, "/v1/access/users", admin).statusCode()).isEqualTo(200);
            access.close(); // the token is known now; the next read of the database fails

            HttpResponse<String> refused = get(http, "/v1/access/users", admin);

            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).contains("5");
            JsonNode error = JSON.readTree(refused.body()).path("error");
            assertThat(error.path("code").asText()).isEqualTo("UNAVAILABLE");
            assertThat(error.path("retriable").asBoolean()).isTrue();
            assertThat(error.path("message").asText()).startsWith("Cannot list the users: the access database")
                    .contains("Retry in a few seconds");
        } finally {
            audit.close();
        }
    }

    private HttpResponse<String> get(HttpApi http, String path, String token) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path))
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
    }
}
