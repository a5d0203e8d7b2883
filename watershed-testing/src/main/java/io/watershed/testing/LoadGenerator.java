package io.watershed.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Producers that post NDJSON events {@code {"producer", "seq", "key", "ts"}} to a stream at a target rate, one request in
 * flight each, and log every event's fate in a {@link DeliveryLog}. A producer follows the platform across restarts: it
 * asks {@code target} for the current address and token before each request, and waits while there is none.
 */
public final class LoadGenerator implements AutoCloseable {
    /** Where to send now: base URL and token, or null while the platform is down. */
    public record Target(String url, String token) {}

    private final DeliveryLog log;
    private final String stream;
    private final int batch;
    private final int keys;
    private final int deadLetterEvery;
    private final long pauseNanos;
    private final boolean keyed;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> threads = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /**
     * @param eventsPerSecond the total target rate over all producers
     * @param keys distinct keys per producer (a key keeps its partition, so its order is checked)
     */
    public LoadGenerator(DeliveryLog log, Supplier<Target> target, String stream, int producers, int eventsPerSecond, int batch,
            int keys) {
        this(log, target, stream, producers, eventsPerSecond, batch, keys, 0);
    }

    /**
     * @param deadLetterEvery every n-th event of a producer (0: none) carries a field named {@code _offset}, which the
     *     raw table reserves: ingest accepts it, the lake writer puts it in the dead-letter table ({@link DeliveryChecker}
     *     counts it there)
     */
    public LoadGenerator(DeliveryLog log, Supplier<Target> target, String stream, int producers, int eventsPerSecond, int batch,
            int keys, int deadLetterEvery) {
        this(log, target, stream, "p", false, producers, eventsPerSecond, batch, keys, deadLetterEvery);
    }

    /**
     * @param prefix producers are named prefix0, prefix1...
     * @param keyed each request carries an {@code Idempotency-Key} ({@code producer-seq}), and a request without a definite
     *     answer (no answer, 503, a restart) is sent again with the same key until it gets one, as a careful client does:
     *     its events must then be stored exactly once
     */
    public LoadGenerator(DeliveryLog log, Supplier<Target> target, String stream, String prefix, boolean keyed, int producers,
            int eventsPerSecond, int batch, int keys, int deadLetterEvery) {
        this.keyed = keyed;
        this.log = log;
        this.deadLetterEvery = deadLetterEvery;
        this.stream = stream;
        this.batch = batch;
        this.keys = keys;
        double requestsPerSecondEach = Math.max(0.1, eventsPerSecond / (double) batch / producers);
        this.pauseNanos = (long) (1e9 / requestsPerSecondEach);
        for (int p = 0; p < producers; p++) {
            String name = prefix + p;
            Thread t = new Thread(() -> run(name, target), "load-" + name);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void run(String producer, Supplier<Target> target) {
        long seq = 0;
        long next = System.nanoTime();
        while (running.get()) {
            Target t = target.get();
            if (t == null) {
                pause(50_000_000L);
                continue;
            }
            StringBuilder body = new StringBuilder();
            String ts = Instant.now().toString();
            for (int i = 0; i < batch; i++) {
                long s = seq + i;
                body.append("{\"producer\":\"").append(producer).append("\",\"seq\":").append(s).append(",\"key\":\"k")
                        .append(s % keys).append("\",\"ts\":\"").append(ts).append('"');
                if (deadLetterEvery > 0 && s % deadLetterEvery == deadLetterEvery - 1) {
                    body.append(",\"_offset\":\"dead letter\"");
                }
                body.append("}\n");
            }
            DeliveryLog.Fate fate;
            try {
                fate = send(t, body.toString(), producer + "-" + seq);
                while (keyed && fate == DeliveryLog.Fate.INDETERMINATE && running.get()) {
                    // the same request again, with the same key, to whichever platform runs now
                    pause(100_000_000L);
                    Target now = target.get();
                    if (now != null) {
                        fate = send(now, body.toString(), producer + "-" + seq);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            log.record(producer, seq, batch, fate);
            seq += batch;
            next += pauseNanos;
            long wait = next - System.nanoTime();
            if (wait > 0) {
                pause(wait);
            } else {
                next = System.nanoTime();
            }
        }
    }

    private DeliveryLog.Fate send(Target t, String body, String key) throws InterruptedException {
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(t.url() + "/v1/streams/" + stream + "/events"))
                    .header("Authorization", "Bearer " + t.token()).timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
            if (keyed) {
                request.header("Idempotency-Key", key);
            }
            HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            int status = r.statusCode();
            if (status == 200) {
                return DeliveryLog.Fate.ACKNOWLEDGED;
            }
            if (status == 429 && keyed) {
                return DeliveryLog.Fate.INDETERMINATE; // a keyed client waits and sends it again
            }
            // a 503 may come after part of a request was written (the bus did not acknowledge in time): not a refusal
            return status >= 400 && status < 500 ? DeliveryLog.Fate.REJECTED : DeliveryLog.Fate.INDETERMINATE;
        } catch (IOException e) {
            return DeliveryLog.Fate.INDETERMINATE; // refused before sending is indeterminate too: the checker allows either
        }
    }

    /** Paces a load (requests per second, a retry's back-off): not a wait for a condition, which {@link Await} is. */
    public static void pause(long nanos) {
        try {
            Thread.sleep(nanos / 1_000_000L, (int) (nanos % 1_000_000L));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops sending and waits for the requests in flight. */
    @Override
    public void close() {
        running.set(false);
        for (Thread t : threads) {
            try {
                t.join(15_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
