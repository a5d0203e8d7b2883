package io.watershed.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.watershed.spi.Settings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the platform's {@link Alerts} to webhooks and to an Alertmanager ({@code alerts:} in {@code watershed.yaml}). Every
 * evaluation interval, on its own daemon thread, it takes the alerts as an admin sees them and compares them by identity
 * with those it knows: a new alert is sent once as firing, one that lasts again once each target's resend interval has
 * passed since its last successful send, and one that is gone once as resolved. A send that fails is tried again at the
 * next evaluation, counted in {@code watershed_alert_notifications_total{target,outcome}} and logged with the target's
 * host only (its URL is a secret); it never holds up anything but this thread, and that for one request timeout at most.
 * Of the instances of a project only the holder of lease {@value #LEASE} notifies; the others, and this one once it
 * loses the lease, forget what they sent. Closing stops the thread and sends nothing more: what is still firing is not
 * resolved at shutdown.
 */
final class AlertNotifier implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AlertNotifier.class);
    static final String LEASE = "alerts";
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    /** Alertmanager hears of a lasting alert this often at least (Prometheus resends every minute; its docs ask 30 s to 3 min). */
    static final Duration ALERTMANAGER_RESEND = Duration.ofSeconds(30);

    /** One message to a target: an alert firing (again) or resolved. */
    record Notification(Alerts.Alert alert, boolean resolved, Instant startsAt, Instant at) {
        String status() {
            return resolved ? "resolved" : "firing";
        }

        /** A Slack-compatible line: {@code [FIRING] critical pipeline:clicks — message}. */
        String text(String project) {
            return "[" + status().toUpperCase(java.util.Locale.ROOT) + "] " + alert.severity() + " " + alert.object() + " — "
                    + alert.message() + " (project " + project + ")";
        }
    }

    /** Where notifications go. */
    interface Target {
        /** The metric's target tag: webhook or alertmanager. */
        String kind();

        /** Where it is, for logs: the host only, never the URL's path or query (they carry credentials). */
        String host();

        /** How long after a successful send an alert that lasts is sent again. */
        Duration resendAfter();

        /** Whether one request carries every notification due (Alertmanager); else one request each. */
        boolean batches();

        /** Sends; completes exceptionally when the target did not take them (no answer in time, or not a 2xx). */
        CompletableFuture<Void> send(List<Notification> notifications);
    }

    /** What a target was told of one alert. */
    private static final class Tracked {
        Alerts.Alert alert;
        final Instant startsAt;
        /** When the target last took it as firing; null until then. */
        Instant sentAt;
        /** When it ended, while its resolved message is still to be taken; null while it fires. */
        Instant endedAt;

        Tracked(Alerts.Alert alert, Instant startsAt) {
            this.alert = alert;
            this.startsAt = startsAt;
        }
    }

    private final Supplier<List<Alerts.Alert>> alerts;
    private final List<Target> targets;
    private final BooleanSupplier holding;
    private final Clock clock;
    private final Duration waitAtMost;
    private final Map<Target, Map<String, Tracked>> known = new LinkedHashMap<>();
    private final Map<String, Counter> counters = new java.util.concurrent.ConcurrentHashMap<>();
    private final MeterRegistry meters;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "watershed-alerts");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param alerts the alerts now, as an admin sees them
     * @param holding whether this instance may notify (holds lease {@value #LEASE})
     * @param waitAtMost how long one evaluation waits for its sends; those not done by then count as failed
     */
    AlertNotifier(Supplier<List<Alerts.Alert>> alerts, List<Target> targets, BooleanSupplier holding, Clock clock,
            Duration waitAtMost, MeterRegistry meters) {
        this.alerts = alerts;
        this.targets = List.copyOf(targets);
        this.holding = holding;
        this.clock = clock;
        this.waitAtMost = waitAtMost;
        this.meters = meters;
        this.targets.forEach(t -> known.put(t, new LinkedHashMap<>()));
    }

    /** The targets of {@code settings}: each webhook, and the Alertmanager. */
    static List<Target> targets(Settings.Alerts settings, String project, String instance, String consoleUrl) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).followRedirects(HttpClient.Redirect.NEVER)
                .build();
        List<Target> targets = new ArrayList<>();
        settings.webhookUrls().forEach(url -> targets.add(new Webhook(client, url, settings.repeatInterval(), project, instance,
                consoleUrl)));
        settings.alertmanagerUrl().ifPresent(url -> targets.add(new Alertmanager(client, url,
                max(settings.evaluationInterval(), ALERTMANAGER_RESEND), project, instance, consoleUrl)));
        return targets;
    }

    /** Evaluates every {@code interval} from now on. */
    AlertNotifier start(Duration interval) {
        thread.scheduleWithFixedDelay(this::tick, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    private void tick() {
        try {
            if (!holding.getAsBoolean()) {
                known.values().forEach(Map::clear); // the holder's business now; if this instance takes over, it starts afresh
                return;
            }
            evaluate(alerts.get());
        } catch (RuntimeException e) {
            LOG.warn("Cannot evaluate the alerts: {}; trying again at the next evaluation", e.toString());
        }
    }

    /** One evaluation of {@code current}, with its sends; returns once they are done, or after {@code waitAtMost}. */
    void evaluate(List<Alerts.Alert> current) {
        Instant now = clock.instant();
        Map<String, Alerts.Alert> byIdentity = new LinkedHashMap<>();
        current.forEach(a -> byIdentity.putIfAbsent(a.identity(), a));
        Map<CompletableFuture<Void>, Map.Entry<Target, List<Notification>>> sends = new LinkedHashMap<>();
        for (Target target : targets) {
            Map<String, Tracked> told = known.get(target);
            byIdentity.forEach((identity, alert) -> {
                Tracked tracked = told.computeIfAbsent(identity, i -> new Tracked(alert, now));
                if (!tracked.alert.severity().equals(alert.severity())) {
                    tracked.sentAt = null; // worse (a lagging pipeline now failed) or better: said at once, not at the repeat
                }
                tracked.alert = alert;
                tracked.endedAt = null; // back before its resolved message got through: it simply goes on
            });
            told.values().removeIf(t -> !byIdentity.containsKey(t.alert.identity()) && t.sentAt == null); // never announced
            List<Notification> due = new ArrayList<>();
            for (Tracked t : told.values()) {
                if (!byIdentity.containsKey(t.alert.identity())) {
                    if (t.endedAt == null) {
                        t.endedAt = now;
                    }
                    due.add(new Notification(t.alert, true, t.startsAt, t.endedAt));
                } else if (t.sentAt == null || !now.isBefore(t.sentAt.plus(target.resendAfter()))) {
                    due.add(new Notification(t.alert, false, t.startsAt, now));
                }
            }
            if (due.isEmpty()) {
                continue;
            }
            if (target.batches()) {
                sends.put(sendSafely(target, due), Map.entry(target, due));
            } else {
                due.forEach(n -> sends.put(sendSafely(target, List.of(n)), Map.entry(target, List.of(n))));
            }
        }
        if (sends.isEmpty()) {
            return;
        }
        try {
            CompletableFuture.allOf(sends.keySet().toArray(CompletableFuture[]::new)).get(waitAtMost.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sends.keySet().forEach(f -> f.cancel(true));
            return;
        } catch (ExecutionException | TimeoutException e) {
            // each send's outcome is read below
        }
        Map<Target, List<String>> failures = new LinkedHashMap<>();
        sends.forEach((future, sent) -> {
            Target target = sent.getKey();
            Optional<String> failure = failure(future);
            count(target.kind(), failure.isEmpty() ? "sent" : "failed", sent.getValue().size());
            if (failure.isPresent()) {
                future.cancel(true);
                failures.computeIfAbsent(target, t -> new ArrayList<>()).add(failure.get());
                return;
            }
            Map<String, Tracked> told = known.get(target);
            for (Notification n : sent.getValue()) {
                Tracked t = told.get(n.alert().identity());
                if (t == null) {
                    continue;
                }
                if (n.resolved()) {
                    told.remove(n.alert().identity());
                } else {
                    t.sentAt = now;
                }
            }
        });
        failures.forEach((target, reasons) -> LOG.warn("Cannot notify the {} at {} of {} alert change(s): {}; trying again at the "
                + "next evaluation", target.kind(), target.host(), reasons.size(), reasons.get(0)));
    }

    private static CompletableFuture<Void> sendSafely(Target target, List<Notification> notifications) {
        try {
            return target.send(notifications);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static Optional<String> failure(CompletableFuture<Void> future) {
        if (!future.isDone()) {
            return Optional.of("no answer in time");
        }
        try {
            future.getNow(null);
            return Optional.empty();
        } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            return Optional.of(cause instanceof java.net.http.HttpTimeoutException ? "no answer in time"
                    : cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage());
        }
    }

    private void count(String target, String outcome, int notifications) {
        counters.computeIfAbsent(target + " " + outcome, k -> Counter.builder("watershed.alert.notifications")
                .tag("target", target).tag("outcome", outcome)
                .description("Alert notifications (firing, repeated or resolved) by target and outcome; a failed one is tried "
                        + "again at the next evaluation").register(meters)).increment(notifications);
    }

    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** Posts one JSON body and completes when a 2xx answer came; the failure names the status, never the URL. */
    private static CompletableFuture<Void> post(HttpClient client, URI url, Object body) {
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            return CompletableFuture.failedFuture(e);
        }
        HttpRequest.Builder builder = HttpRequest.newBuilder(withoutUserInfo(url)).timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json").header("User-Agent", "watershed-alerts");
        if (url.getRawUserInfo() != null) {
            // user:password@ in the URL (an Alertmanager behind basic auth): the JDK's client does not send it by itself
            builder.header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(
                    java.net.URLDecoder.decode(url.getRawUserInfo(), java.nio.charset.StandardCharsets.UTF_8)
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }
        HttpRequest request = builder.POST(HttpRequest.BodyPublishers.ofByteArray(json)).build();
        return client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).thenAccept(response -> {
            if (response.statusCode() / 100 != 2) {
                throw new java.util.concurrent.CompletionException(new java.io.IOException("answered HTTP " + response.statusCode()));
            }
        }).exceptionallyCompose(e -> {
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
            // the JDK's messages may quote the URL; keep only what says why
            String why = cause instanceof java.net.http.HttpTimeoutException ? "no answer in time"
                    : cause instanceof java.net.ConnectException ? "connection refused or unreachable"
                    : cause.getMessage() != null && cause.getMessage().startsWith("answered HTTP") ? cause.getMessage()
                    : cause.getClass().getSimpleName();
            return CompletableFuture.failedFuture(new java.io.IOException(why));
        });
    }

    private static URI withoutUserInfo(URI url) {
        if (url.getRawUserInfo() == null) {
            return url;
        }
        String text = url.toString();
        int at = text.indexOf('@', text.indexOf("://") + 3);
        return URI.create(text.substring(0, text.indexOf("://") + 3) + text.substring(at + 1));
    }

    /** A webhook: one JSON message per alert change, with a Slack-compatible {@code text}. */
    static final class Webhook implements Target {
        private final HttpClient client;
        private final URI url;
        private final Duration repeat;
        private final String project;
        private final String instance;
        private final String console;

        Webhook(HttpClient client, URI url, Duration repeat, String project, String instance, String console) {
            this.client = client;
            this.url = url;
            this.repeat = repeat;
            this.project = project;
            this.instance = instance;
            this.console = console;
        }

        @Override
        public String kind() {
            return "webhook";
        }

        @Override
        public String host() {
            return url.getHost();
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
        public CompletableFuture<Void> send(List<Notification> notifications) {
            return CompletableFuture.allOf(notifications.stream().map(n -> post(client, url, body(n)))
                    .toArray(CompletableFuture[]::new));
        }

        Map<String, Object> body(Notification n) {
            Map<String, Object> alert = n.alert().json();
            alert.put("starts_at", n.startsAt().toString());
            if (n.resolved()) {
                alert.put("ends_at", n.at().toString());
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("status", n.status());
            // Slack reads &, < and > as markup (links, mentions): escaped as its docs ask, the line shows as written
            body.put("text", n.text(project).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"));
            body.put("project", project);
            body.put("instance", instance);
            body.put("alert", alert);
            body.put("console", console);
            return body;
        }
    }

    /**
     * Alertmanager's API v2: every alert change in one {@code POST /api/v2/alerts}. A lasting alert is sent again every
     * resend interval with an end four intervals ahead, so that Alertmanager keeps it firing while this instance lives and
     * resolves it by itself should it die; a resolved one is sent with its end. Alertmanager groups, deduplicates and
     * repeats by its own route's settings.
     */
    static final class Alertmanager implements Target {
        private final HttpClient client;
        private final URI url;
        private final Duration resend;
        private final String project;
        private final String instance;
        private final String console;

        Alertmanager(HttpClient client, URI base, Duration resend, String project, String instance, String console) {
            this.client = client;
            String path = base.toString().replaceAll("/+$", "");
            this.url = URI.create(path + "/api/v2/alerts");
            this.resend = resend;
            this.project = project;
            this.instance = instance;
            this.console = console;
        }

        @Override
        public String kind() {
            return "alertmanager";
        }

        @Override
        public String host() {
            return url.getHost();
        }

        @Override
        public Duration resendAfter() {
            return resend;
        }

        @Override
        public boolean batches() {
            return true;
        }

        @Override
        public CompletableFuture<Void> send(List<Notification> notifications) {
            return post(client, url, notifications.stream().map(this::alert).toList());
        }

        Map<String, Object> alert(Notification n) {
            Map<String, Object> labels = new LinkedHashMap<>();
            labels.put("alertname", "watershed_" + n.alert().kind());
            labels.put("severity", n.alert().severity());
            labels.put("object", n.alert().object());
            labels.put("project", project);
            Map<String, Object> annotations = new LinkedHashMap<>();
            annotations.put("summary", n.text(project));
            annotations.put("description", n.alert().message());
            annotations.put("instance", instance);
            Map<String, Object> alert = new LinkedHashMap<>();
            alert.put("labels", labels);
            alert.put("annotations", annotations);
            alert.put("startsAt", n.startsAt().toString());
            alert.put("endsAt", (n.resolved() ? n.at() : n.at().plus(resend.multipliedBy(4))).toString());
            alert.put("generatorURL", console);
            return alert;
        }
    }
}
