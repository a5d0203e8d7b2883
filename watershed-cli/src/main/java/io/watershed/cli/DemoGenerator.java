package io.watershed.cli;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Posts synthetic clicks to the platform's own ingest API, five batches a second. */
final class DemoGenerator implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(DemoGenerator.class);
    private static final String[] USERS = {"ada", "bob", "cyd", "dee", "eve", "fay", "gus", "hal", "ivy", "jo"};
    private static final String[] PAGES = {"/home", "/search", "/product/17", "/product/42", "/cart", "/checkout"};
    private static final String[] TERMS = {"shoes", "coat", "lamp", "desk", "kettle", "socks"};

    private final URI endpoint;
    private final int perSecond;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final String token;

    /** @param token a token that may write stream {@code clicks} */
    DemoGenerator(String baseUrl, String token, int perSecond) {
        this.endpoint = URI.create(baseUrl + "/v1/streams/clicks/events");
        this.token = token;
        this.perSecond = Math.max(1, perSecond);
    }

    @Override
    public void run() {
        int perBatch = Math.max(1, perSecond / 5);
        long next = System.nanoTime();
        while (!Thread.currentThread().isInterrupted()) {
            StringBuilder body = new StringBuilder();
            for (int i = 0; i < perBatch; i++) {
                body.append(click()).append('\n');
            }
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(endpoint)
                        .header("Content-Type", "application/x-ndjson")
                        .header("Authorization", "Bearer " + token)
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200) {
                    LOG.warn("Demo generator: {} {}", response.statusCode(), response.body());
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                LOG.debug("Demo generator could not send: {}", e.toString());
            }
            next += 200_000_000L;
            long wait = next - System.nanoTime();
            if (wait > 0) {
                try {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private static String click() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        String user = USERS[r.nextInt(USERS.length)];
        String page = PAGES[r.nextInt(PAGES.length)];
        StringBuilder json = new StringBuilder("{\"user\":\"").append(user).append("\",\"page\":\"").append(page)
                .append("\",\"ts\":\"").append(Instant.now()).append('"');
        if (page.equals("/search")) {
            json.append(",\"term\":\"").append(TERMS[r.nextInt(TERMS.length)]).append('"');
        }
        if (page.equals("/checkout")) {
            // about 2% of all clicks carry a price the declared double column cannot hold: they land in the DLQ
            String price = r.nextInt(12) == 0 ? "\"free\"" : String.format(java.util.Locale.ROOT, "%.2f", 5 + r.nextDouble() * 200);
            json.append(",\"price\":").append(price).append(",\"items\":[").append(r.nextInt(1, 5)).append(']');
        }
        return json.append('}').toString();
    }
}
