package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Alert notifications end to end: an event with a value of the wrong type is dead-lettered, which raises the
 * dead_letters alert of its stream for {@code alerts.dead_letters_window}. A webhook receiver in the test hears of it
 * exactly once as firing and once as resolved, with a Slack-compatible text; a real Alertmanager (Debian's
 * prometheus-alertmanager, installed by the build) takes the same alert over its API v2 and tells its own webhook
 * receiver that it fires and then that it is resolved, with Watershed's labels.
 */
class AlertsIT {
    private static final Path ALERTMANAGER = Path.of("/usr/bin/prometheus-alertmanager");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DLQ = "table:raw.typed__dlq";

    @TempDir
    Path root;

    @Test
    void aDeadLetterFiresOnceAndResolvesOnceAtTheWebhookAndThroughAlertmanager() throws Exception {
        assertThat(ALERTMANAGER).as("the build installs Debian's prometheus-alertmanager (install-debian-tools.sh)").isExecutable();
        List<JsonNode> hook = new CopyOnWriteArrayList<>();
        List<JsonNode> fromAlertmanager = new CopyOnWriteArrayList<>();
        HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/services/T0/B0/secret", exchange -> {
            hook.add(JSON.readTree(exchange.getRequestBody().readAllBytes()));
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        receiver.createContext("/from-alertmanager", exchange -> {
            fromAlertmanager.add(JSON.readTree(exchange.getRequestBody().readAllBytes()));
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        receiver.start();
        int amPort = freePort();
        Process alertmanager = startAlertmanager(amPort, receiver.getAddress().getPort());
        try {
            TestProject project = TestProject.in(root.resolve("project")).commitInterval("500ms")
                    .yaml("alerts:\n  webhooks: http://127.0.0.1:" + receiver.getAddress().getPort() + "/services/T0/B0/secret\n"
                            + "  alertmanager: http://127.0.0.1:" + amPort + "\n"
                            + "  evaluation_interval: 1s\n  dead_letters_window: 5s\n")
                    .stream("typed", "key: id\nfields:\n  id: long\n  n: int\n");
            try (Platform platform = Platform.start(project.load(), root.resolve("data"))) {
                WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
                assertThat(http.events("typed", "{\"id\": 1, \"n\": \"many\"}").status()).isEqualTo(200);

                Await.until("the webhook to hear that the dead letter's alert fires", Duration.ofSeconds(60),
                        () -> messages(hook, "firing") >= 1);
                JsonNode firing = hook.stream().filter(m -> about(m) && m.path("status").asText().equals("firing")).findFirst()
                        .orElseThrow();
                assertThat(firing.path("text").asText()).startsWith("[FIRING] warning " + DLQ + " — 1 dead letters in raw.typed__dlq");
                assertThat(firing.path("alert").path("kind").asText()).isEqualTo("dead_letters");
                assertThat(firing.path("project").asText()).isEqualTo(platform.project().name());
                assertThat(firing.path("console").asText()).isEqualTo(platform.url() + "/console/");
                Await.until("the webhook to hear that it is resolved", Duration.ofSeconds(60), () -> messages(hook, "resolved") >= 1);
                JsonNode resolved = hook.stream().filter(m -> about(m) && m.path("status").asText().equals("resolved")).findFirst()
                        .orElseThrow();
                assertThat(resolved.path("text").asText()).startsWith("[RESOLVED] warning " + DLQ);
                assertThat(resolved.path("alert").path("starts_at").asText()).isEqualTo(firing.path("alert").path("starts_at").asText());
                assertThat(resolved.path("alert").has("ends_at")).isTrue();

                Await.until("Alertmanager to notify that it fires", Duration.ofSeconds(60),
                        () -> alertmanagerSays("firing", fromAlertmanager) != null);
                JsonNode amFiring = alertmanagerSays("firing", fromAlertmanager);
                assertThat(amFiring.path("labels").path("alertname").asText()).isEqualTo("watershed_dead_letters");
                assertThat(amFiring.path("labels").path("severity").asText()).isEqualTo("warning");
                assertThat(amFiring.path("labels").path("project").asText()).isEqualTo(platform.project().name());
                assertThat(amFiring.path("annotations").path("description").asText()).contains("dead letters in raw.typed__dlq");
                assertThat(amFiring.path("generatorURL").asText()).isEqualTo(platform.url() + "/console/");
                Await.until("Alertmanager to notify that it is resolved", Duration.ofSeconds(60),
                        () -> alertmanagerSays("resolved", fromAlertmanager) != null);

                // by now a second evaluation after the resolved one has passed several times over: nothing more came
                assertThat(messages(hook, "firing")).as("one firing message: " + hook).isEqualTo(1);
                assertThat(messages(hook, "resolved")).as("one resolved message: " + hook).isEqualTo(1);
                assertThat(http.get("/v1/alerts").json().path("alerts").findValuesAsText("object")).doesNotContain(DLQ);
                assertThat(http.get("/metrics").body()).containsPattern(
                        "watershed_alert_notifications_total\\{[^}]*outcome=\"sent\"[^}]*target=\"webhook\"[^}]*\\} 2\\.0")
                        .containsPattern("watershed_alert_notifications_total\\{[^}]*outcome=\"sent\"[^}]*target=\"alertmanager\"");
            }
        } finally {
            alertmanager.destroy();
            if (!alertmanager.waitFor(10, TimeUnit.SECONDS)) {
                alertmanager.destroyForcibly();
            }
            receiver.stop(0);
        }
    }

    /** Webhook messages about the dead letters of raw.typed with this status. */
    private static long messages(List<JsonNode> hook, String status) {
        return hook.stream().filter(m -> about(m) && m.path("status").asText().equals(status)).count();
    }

    private static boolean about(JsonNode message) {
        return message.path("alert").path("object").asText().equals(DLQ);
    }

    /** Our alert in a notification of Alertmanager's whose status is {@code status}, or null. */
    private static JsonNode alertmanagerSays(String status, List<JsonNode> notifications) {
        for (JsonNode notification : notifications) {
            for (JsonNode alert : notification.path("alerts")) {
                if (notification.path("status").asText().equals(status) && alert.path("status").asText().equals(status)
                        && alert.path("labels").path("object").asText().equals(DLQ)) {
                    return alert;
                }
            }
        }
        return null;
    }

    /** Alertmanager on loopback, alone (no cluster), routing everything to the test's receiver within about a second. */
    private Process startAlertmanager(int port, int receiverPort) throws IOException {
        Path config = root.resolve("alertmanager.yml");
        Files.writeString(config, """
                route:
                  receiver: test
                  group_by: [alertname, object]
                  group_wait: 1s
                  group_interval: 1s
                  repeat_interval: 1h
                receivers:
                  - name: test
                    webhook_configs:
                      - url: http://127.0.0.1:%d/from-alertmanager
                        send_resolved: true
                """.formatted(receiverPort));
        Process process = new ProcessBuilder(ALERTMANAGER.toString(), "--config.file=" + config,
                "--storage.path=" + Files.createDirectories(root.resolve("alertmanager-data")),
                "--web.listen-address=127.0.0.1:" + port, "--cluster.listen-address=")
                .redirectErrorStream(true).redirectOutput(root.resolve("alertmanager.log").toFile()).start();
        HttpClient client = HttpClient.newHttpClient();
        Await.until("Alertmanager to be ready", Duration.ofSeconds(30), () -> {
            if (!process.isAlive()) {
                throw new AssertionError("Alertmanager exited: " + read(root.resolve("alertmanager.log")));
            }
            try {
                return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/-/ready")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
        return process;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
