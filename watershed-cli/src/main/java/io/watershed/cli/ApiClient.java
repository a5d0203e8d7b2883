package io.watershed.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A small client of the platform's HTTP API for the CLI. */
final class ApiClient {
    static final ObjectMapper JSON = new ObjectMapper();
    private final String baseUrl;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Duration postTimeout;

    ApiClient(ServerOptions server) {
        this(server.url(), server.token(), Duration.ofMinutes(2));
    }

    private ApiClient(String baseUrl, String token, Duration postTimeout) {
        this.baseUrl = baseUrl;
        this.token = token;
        this.postTimeout = postTimeout;
    }

    /** The same client, waiting up to {@code timeout} for the answer to a POST (a long operation). */
    ApiClient withPostTimeout(Duration timeout) {
        return new ApiClient(baseUrl, token, timeout);
    }

    HttpResponse<String> post(String path, HttpRequest.BodyPublisher body, String contentType, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(postTimeout)
                .header("Content-Type", contentType).POST(body);
        for (int i = 0; i + 1 < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return send(request);
    }

    HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30)).GET());
    }

    HttpResponse<String> delete(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30)).DELETE());
    }

    private HttpResponse<String> send(HttpRequest.Builder builder) {
        if (token != null) {
            builder.header("Authorization", "Bearer " + token);
        }
        HttpRequest request = builder.build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 401 && token == null) {
                throw new WatershedException(ErrorCode.UNAUTHENTICATED, "Cannot call " + baseUrl + " without a token, and none was "
                        + "found: set WATERSHED_TOKEN, pass --token-file FILE, or run from the directory holding .watershed/ "
                        + "(the platform writes its admin token to <data dir>/admin.token)");
            }
            return response;
        } catch (ConnectException e) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot reach Watershed at " + baseUrl
                    + ": is it running? Start it with './watershed up' or './watershed demo', or pass --server URL");
        } catch (IOException e) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot talk to Watershed at " + baseUrl + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Interrupted", e);
        }
    }

    /** The "message" of an API error body, or the body itself. */
    static String errorMessage(HttpResponse<String> response) {
        try {
            JsonNode error = JSON.readTree(response.body()).path("error");
            if (error.has("message")) {
                return error.get("message").asText();
            }
        } catch (IOException ignored) {
            // not JSON: show it as is
        }
        return "HTTP " + response.statusCode() + ": " + response.body();
    }
}
