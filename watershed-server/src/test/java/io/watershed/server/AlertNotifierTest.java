package io.watershed.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.watershed.testing.MovableClock;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class AlertNotifierTest {
    private static final Alerts.Alert DEAD_LETTERS = new Alerts.Alert("warning", "dead_letters", "table:raw.clicks__dlq",
            "3 dead letters in raw.clicks__dlq");
    private static final Alerts.Alert PIPELINE = new Alerts.Alert("critical", "pipeline", "pipeline:sessions",
            "Pipeline 'sessions' is FAILED");
    private static final Duration REPEAT = Duration.ofHours(4);

    private static final Instant START = Instant.parse("2026-12-07T10:00:00Z");
    private final MovableClock clock = new MovableClock(START);
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    @Test
    void anAlertFiresOnceRepeatsAfterTheRepeatIntervalAndResolvesOnce() {
        Recording webhook = new Recording(REPEAT);
        AlertNotifier notifier = notifier(webhook);

        notifier.evaluate(List.of(DEAD_LETTERS));
        notifier.evaluate(List.of(DEAD_LETTERS));
        clock.advance(REPEAT.minusSeconds(1));
        notifier.evaluate(List.of(DEAD_LETTERS));
        assertThat(webhook.statuses()).containsExactly("firing dead_letters table:raw.clicks__dlq");

        clock.advance(Duration.ofSeconds(1));
        notifier.evaluate(List.of(new Alerts.Alert("warning", "dead_letters", "table:raw.clicks__dlq", "4 dead letters")));
        notifier.evaluate(List.of(DEAD_LETTERS));
        assertThat(webhook.statuses()).as("one repeat, with the message as it is now").containsExactly(
                "firing dead_letters table:raw.clicks__dlq", "firing dead_letters table:raw.clicks__dlq");
        assertThat(webhook.received.get(1).alert().message()).isEqualTo("4 dead letters");

        clock.advance(Duration.ofSeconds(15));
        notifier.evaluate(List.of());
        notifier.evaluate(List.of());
        assertThat(webhook.statuses()).hasSize(3).endsWith("resolved dead_letters table:raw.clicks__dlq");
        AlertNotifier.Notification resolved = webhook.received.get(2);
        assertThat(resolved.startsAt()).as("the start is the first evaluation that saw it").isEqualTo(START);
        assertThat(resolved.at()).isEqualTo(clock.instant());
        assertThat(resolved.text("demo")).startsWith("[RESOLVED] warning table:raw.clicks__dlq — ");
        assertThat(meters.counter("watershed.alert.notifications", "target", "webhook", "outcome", "sent").count()).isEqualTo(3);
    }

    @Test
    void anAlertThatChangesSeverityIsToldAtOnce() {
        Recording webhook = new Recording(REPEAT);
        AlertNotifier notifier = notifier(webhook);
        Alerts.Alert lagging = new Alerts.Alert("warning", "pipeline", "pipeline:sessions", "120000 records behind");
        notifier.evaluate(List.of(lagging));
        notifier.evaluate(List.of(lagging));
        notifier.evaluate(List.of(PIPELINE));
        notifier.evaluate(List.of(PIPELINE));
        assertThat(webhook.statuses()).as("the warning, then at once the failure, not after the repeat interval")
                .containsExactly("firing pipeline pipeline:sessions", "firing pipeline pipeline:sessions");
        assertThat(webhook.received.get(1).alert().severity()).isEqualTo("critical");
    }

    @Test
    void alertsAreToldApartByKindAndObject() {
        Recording webhook = new Recording(REPEAT);
        AlertNotifier notifier = notifier(webhook);
        notifier.evaluate(List.of(DEAD_LETTERS, PIPELINE));
        notifier.evaluate(List.of(PIPELINE));
        notifier.evaluate(List.of(PIPELINE, new Alerts.Alert("warning", "pipeline", "pipeline:sessions", "now backpressured")));
        assertThat(webhook.statuses()).containsExactly("firing dead_letters table:raw.clicks__dlq",
                "firing pipeline pipeline:sessions", "resolved dead_letters table:raw.clicks__dlq");
    }

    @Test
    void aFailedSendIsTriedAgainAtTheNextEvaluationAndCounted() {
        Recording webhook = new Recording(REPEAT);
        AlertNotifier notifier = notifier(webhook);
        webhook.failing.set(true);
        notifier.evaluate(List.of(DEAD_LETTERS));
        notifier.evaluate(List.of(DEAD_LETTERS));
        assertThat(webhook.received).isEmpty();
        assertThat(meters.counter("watershed.alert.notifications", "target", "webhook", "outcome", "failed").count()).isEqualTo(2);

        webhook.failing.set(false);
        notifier.evaluate(List.of(DEAD_LETTERS));
        notifier.evaluate(List.of(DEAD_LETTERS));
        assertThat(webhook.statuses()).containsExactly("firing dead_letters table:raw.clicks__dlq");

        webhook.failing.set(true);
        notifier.evaluate(List.of());
        webhook.failing.set(false);
        clock.advance(Duration.ofSeconds(15));
        notifier.evaluate(List.of());
        notifier.evaluate(List.of());
        assertThat(webhook.statuses()).containsExactly("firing dead_letters table:raw.clicks__dlq",
                "resolved dead_letters table:raw.clicks__dlq");
        assertThat(webhook.received.get(1).at()).as("the end is when it was first seen gone").isEqualTo(START);
        assertThat(meters.counter("watershed.alert.notifications", "target", "webhook", "outcome", "failed").count()).isEqualTo(3);
    }

    @Test
    void anAlertGoneBeforeItsFiringMessageGotThroughIsNotResolved() {
        Recording webhook = new Recording(REPEAT);
        AlertNotifier notifier = notifier(webhook);
        webhook.failing.set(true);
        notifier.evaluate(List.of(DEAD_LETTERS));
        webhook.failing.set(false);
        notifier.evaluate(List.of());
        assertThat(webhook.received).isEmpty();
    }

    @Test
    void aSlowTargetHoldsAnEvaluationUpForItsTimeoutOnlyAndTheOthersStillGetTheirs() {
        Recording slow = new Recording(REPEAT) {
            @Override
            public CompletableFuture<Void> send(List<AlertNotifier.Notification> notifications) {
                return new CompletableFuture<>(); // never answers
            }
        };
        Recording fast = new Recording(REPEAT);
        AlertNotifier notifier = new AlertNotifier(List::of, List.of(slow, fast), () -> true, clock, Duration.ofMillis(200), meters);
        long started = System.nanoTime();
        notifier.evaluate(List.of(DEAD_LETTERS));
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
        assertThat(fast.statuses()).containsExactly("firing dead_letters table:raw.clicks__dlq");
        assertThat(meters.counter("watershed.alert.notifications", "target", "webhook", "outcome", "failed").count()).isEqualTo(1);
    }

    @Test
    void anInstanceWithoutTheLeaseSendsNothingAndForgetsWhatItSent() throws Exception {
        Recording webhook = new Recording(REPEAT);
        AtomicBoolean holding = new AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        List<Alerts.Alert> current = new CopyOnWriteArrayList<>(List.of(DEAD_LETTERS));
        try (AlertNotifier notifier = new AlertNotifier(() -> current, List.of(webhook), () -> {
            asked.incrementAndGet();
            return holding.get();
        }, clock, Duration.ofSeconds(1), meters).start(Duration.ofMillis(20))) {
            io.watershed.testing.Await.until("the firing message", Duration.ofSeconds(10), () -> webhook.received.size() == 1);
            holding.set(false);
            int before = asked.get();
            // an evaluation that read the lease just before it went may still be under way: wait out two more first
            io.watershed.testing.Await.until("evaluations without the lease", Duration.ofSeconds(10), () -> asked.get() > before + 1);
            current.clear();
            int cleared = asked.get();
            io.watershed.testing.Await.until("an evaluation without the lease", Duration.ofSeconds(10), () -> asked.get() > cleared + 1);
            holding.set(true);
            current.add(PIPELINE);
            io.watershed.testing.Await.until("the new alert", Duration.ofSeconds(10), () -> webhook.received.size() == 2);
        }
        assertThat(webhook.statuses()).as("no resolved message for what it forgot")
                .containsExactly("firing dead_letters table:raw.clicks__dlq", "firing pipeline pipeline:sessions");
    }

    @Test
    void webhookAndAlertmanagerBodiesOverRealHttp() throws Exception {
        List<JsonNode> bodies = new CopyOnWriteArrayList<>();
        List<String> contentTypes = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            bodies.add(new ObjectMapper().readTree(exchange.getRequestBody().readAllBytes()));
            contentTypes.add(exchange.getRequestHeaders().getFirst("Content-Type"));
            exchange.sendResponseHeaders(exchange.getRequestURI().getPath().contains("refuse") ? 500 : 200, -1);
            exchange.close();
        });
        server.start();
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort();
            HttpClient client = HttpClient.newHttpClient();
            AlertNotifier.Webhook webhook = new AlertNotifier.Webhook(client, URI.create(base + "/hook/T0/B0/secret"), REPEAT, "demo",
                    "host-1", "http://127.0.0.1:7070/console/");
            AlertNotifier.Alertmanager alertmanager = new AlertNotifier.Alertmanager(client, URI.create(base + "/am/"),
                    Duration.ofSeconds(30), "demo", "host-1", "http://127.0.0.1:7070/console/");
            AlertNotifier notifier = new AlertNotifier(List::of, List.of(webhook, alertmanager), () -> true, clock,
                    Duration.ofSeconds(5), meters);
            notifier.evaluate(List.of(DEAD_LETTERS));
            clock.advance(Duration.ofSeconds(10));
            notifier.evaluate(List.of());
            Alerts.Alert markup = new Alerts.Alert("critical", "pipeline", "pipeline:p", "failed: a < b && c > d");
            assertThat(webhook.body(new AlertNotifier.Notification(markup, false, clock.instant(), clock.instant())).get("text"))
                    .isEqualTo("[FIRING] critical pipeline:p — failed: a &lt; b &amp;&amp; c &gt; d (project demo)");

            assertThat(contentTypes).containsOnly("application/json");
            List<JsonNode> hooks = bodies.stream().filter(JsonNode::isObject).toList();
            assertThat(hooks).hasSize(2);
            assertThat(hooks.get(0).path("status").asText()).isEqualTo("firing");
            assertThat(hooks.get(0).path("text").asText()).isEqualTo("[FIRING] warning table:raw.clicks__dlq — 3 dead letters in "
                    + "raw.clicks__dlq (project demo)");
            assertThat(hooks.get(0).path("project").asText()).isEqualTo("demo");
            assertThat(hooks.get(0).path("instance").asText()).isEqualTo("host-1");
            assertThat(hooks.get(0).path("console").asText()).isEqualTo("http://127.0.0.1:7070/console/");
            assertThat(hooks.get(0).path("alert").path("kind").asText()).isEqualTo("dead_letters");
            assertThat(hooks.get(0).path("alert").path("starts_at").asText()).isEqualTo(START.toString());
            assertThat(hooks.get(0).path("alert").has("ends_at")).isFalse();
            assertThat(hooks.get(1).path("status").asText()).isEqualTo("resolved");
            assertThat(hooks.get(1).path("alert").path("ends_at").asText()).isEqualTo(clock.instant().toString());

            List<JsonNode> posted = bodies.stream().filter(JsonNode::isArray).toList();
            assertThat(posted).hasSize(2);
            JsonNode firing = posted.get(0).get(0);
            assertThat(firing.path("labels").path("alertname").asText()).isEqualTo("watershed_dead_letters");
            assertThat(firing.path("labels").path("object").asText()).isEqualTo("table:raw.clicks__dlq");
            assertThat(firing.path("labels").path("severity").asText()).isEqualTo("warning");
            assertThat(firing.path("labels").path("project").asText()).isEqualTo("demo");
            assertThat(firing.path("annotations").path("description").asText()).isEqualTo(DEAD_LETTERS.message());
            assertThat(Instant.parse(firing.path("endsAt").asText())).as("kept firing for four resend intervals")
                    .isEqualTo(START.plusSeconds(120));
            assertThat(Instant.parse(posted.get(1).get(0).path("endsAt").asText())).isEqualTo(clock.instant());

            AlertNotifier.Webhook refusing = new AlertNotifier.Webhook(client, URI.create(base + "/refuse/secret-path?token=x"),
                    REPEAT, "demo", "host-1", "");
            assertThatThrownBy(() -> refusing.send(List.of(new AlertNotifier.Notification(DEAD_LETTERS, false, clock.instant(),
                    clock.instant()))).get()).isInstanceOf(ExecutionException.class).hasMessageContaining("HTTP 500")
                    .hasMessageNotContaining("secret-path").hasMessageNotContaining("token");
        } finally {
            server.stop(0);
        }
        int closed;
        try (ServerSocket socket = new ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        AlertNotifier.Webhook unreachable = new AlertNotifier.Webhook(HttpClient.newHttpClient(),
                URI.create("http://127.0.0.1:" + closed + "/services/T0/B0/secret-path"), REPEAT, "demo", "host-1", "");
        assertThatThrownBy(() -> unreachable.send(List.of(new AlertNotifier.Notification(DEAD_LETTERS, false, clock.instant(),
                clock.instant()))).get()).isInstanceOf(ExecutionException.class).hasMessageNotContaining("secret-path");
    }

    private AlertNotifier notifier(AlertNotifier.Target target) {
        return new AlertNotifier(List::of, List.of(target), () -> true, clock, Duration.ofSeconds(1), meters);
    }

    /** A webhook in memory: what it took, or failing on demand. */
    private static class Recording implements AlertNotifier.Target {
        final List<AlertNotifier.Notification> received = new CopyOnWriteArrayList<>();
        final AtomicBoolean failing = new AtomicBoolean();
        private final Duration repeat;

        Recording(Duration repeat) {
            this.repeat = repeat;
        }

        List<String> statuses() {
            List<String> out = new ArrayList<>();
            received.forEach(n -> out.add(n.status() + " " + n.alert().kind() + " " + n.alert().object()));
            return out;
        }

        @Override
        public String kind() {
            return "webhook";
        }

        @Override
        public String host() {
            return "hooks.example";
        }

        @Override
        public Duration resendAfter() {
            return repeat;
        }

        @Override
        public boolean batches() {
            return false;
        }

        @Override
        public CompletableFuture<Void> send(List<AlertNotifier.Notification> notifications) {
            if (failing.get()) {
                return CompletableFuture.failedFuture(new java.io.IOException("answered HTTP 503"));
            }
            received.addAll(notifications);
            return CompletableFuture.completedFuture(null);
        }
    }

}
