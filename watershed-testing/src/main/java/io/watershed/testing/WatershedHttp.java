package io.watershed.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** A test client of the HTTP API. */
public final class WatershedHttp {
    public static final ObjectMapper JSON = new ObjectMapper();
    private final String baseUrl;
    private final String token;
    private final HttpClient http;

    /** A client sending {@code token} as its bearer token (null: none). */
    public WatershedHttp(String baseUrl, String token) {
        this(baseUrl, token, HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build());
    }

    /** The same, over a given client (e.g. one trusting a test certificate). */
    public WatershedHttp(String baseUrl, String token, HttpClient http) {
        this.baseUrl = baseUrl;
        this.token = token;
        this.http = http;
    }

    /** The same platform as another token. */
    public WatershedHttp as(String otherToken) {
        return new WatershedHttp(baseUrl, otherToken, http);
    }

    public record Response(int status, String body, Map<String, java.util.List<String>> headers) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + body, e);
            }
        }

        public String header(String name) {
            return headers.entrySet().stream().filter(h -> h.getKey().equalsIgnoreCase(name)).findFirst()
                    .map(h -> h.getValue().get(0)).orElse(null);
        }
    }

    public Response post(String path, byte[] body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return send(request);
    }

    public Response get(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30)).GET());
    }

    public Response delete(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30)).DELETE());
    }

    /** POSTs a JSON body. */
    public Response postJson(String path, Object body) {
        try {
            return post(path, JSON.writeValueAsBytes(body), "Content-Type", "application/json");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** PUTs a JSON body. */
    public Response putJson(String path, Object body) {
        try {
            return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30)).header("Content-Type",
                    "application/json").PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Response events(String stream, String body, String... headers) {
        return post("/v1/streams/" + stream + "/events", body.getBytes(java.nio.charset.StandardCharsets.UTF_8), headers);
    }

    public Response sql(String sql, String... headers) {
        try {
            return post("/v1/sql", JSON.writeValueAsBytes(Map.of("sql", sql)), headers);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a query that must succeed; returns its JSON answer. */
    public JsonNode query(String sql) {
        Response r = sql(sql);
        if (r.status() != 200) {
            throw new AssertionError("query failed (" + r.status() + "): " + r.body());
        }
        return r.json();
    }

    /**
     * Waits until {@code count} pipelines run (GET /v1/pipelines); a failed one fails the wait with its
     * status as the last value seen.
     */
    public void awaitPipelinesRunning(int count, java.time.Duration timeout) {
        Await.until(count + " pipelines to run", timeout, () -> get("/v1/pipelines").json().path("pipelines"), list -> {
            int running = 0;
            for (JsonNode p : list) {
                if (p.path("state").asText().equals("FAILED")) {
                    throw new AssertionError("pipeline failed: " + p);
                }
                running += p.path("state").asText().equals("RUNNING") ? 1 : 0;
            }
            return running == count;
        });
    }

    /**
     * The result's rows, each as its values joined by single spaces (easy to compare with expected
     * lines), or one line "status N: body" when the query is refused (a table not there yet, say).
     */
    public java.util.List<String> rows(String sql) {
        Response response = sql(sql);
        if (response.status() != 200) {
            return java.util.List.of("status " + response.status() + ": " + response.body());
        }
        java.util.List<String> rows = new java.util.ArrayList<>();
        for (JsonNode row : response.json().path("rows")) {
            java.util.List<String> values = new java.util.ArrayList<>();
            row.forEach(v -> values.add(v.asText()));
            rows.add(String.join(" ", values));
        }
        return rows;
    }

    public long count(String sql) {
        return query(sql).path("rows").get(0).get(0).asLong();
    }

    private Response send(HttpRequest.Builder builder) {
        if (token != null) {
            builder.header("Authorization", "Bearer " + token);
        }
        HttpRequest request = builder.build();
        try {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body(), r.headers().map());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
