package io.watershed.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A small client of the platform's HTTP API for the CLI. It uses {@link HttpURLConnection}: a command is one short
 * process, and {@code java.net.http.HttpClient} sets up TLS when it is built (about 0.3 s on a small machine) even for an
 * {@code http://} address; a connection here pays for TLS only when the address is {@code https://}.
 */
final class ApiClient {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final int CONNECT_TIMEOUT_MS = 5_000;
    private final String baseUrl;
    private final String token;
    private final Duration postTimeout;

    /** An answer: its status, body and headers (names in lower case). */
    record Response(int statusCode, String body, Map<String, List<String>> headers) {
        Optional<String> header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
        }
    }

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

    Response post(String path, String body, String contentType, String... headers) {
        String[] all = new String[headers.length + 2];
        all[0] = "Content-Type";
        all[1] = contentType;
        System.arraycopy(headers, 0, all, 2, headers.length);
        return send("POST", path, body.getBytes(StandardCharsets.UTF_8), postTimeout, all);
    }

    Response get(String path) {
        return send("GET", path, null, Duration.ofSeconds(30));
    }

    Response delete(String path) {
        return send("DELETE", path, null, Duration.ofSeconds(30));
    }

    private Response send(String method, String path, byte[] body, Duration timeout, String... headers) {
        HttpURLConnection connection = null;
        try {
            connection = (HttpURLConnection) URI.create(baseUrl + path).toURL().openConnection();
            connection.setRequestMethod(method);
            connection.setConnectTimeout(CONNECT_TIMEOUT_MS);
            connection.setReadTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            connection.setUseCaches(false);
            for (int i = 0; i + 1 < headers.length; i += 2) {
                connection.setRequestProperty(headers[i], headers[i + 1]);
            }
            if (token != null) {
                connection.setRequestProperty("Authorization", "Bearer " + token);
            }
            if (body != null) {
                connection.setDoOutput(true);
                connection.setFixedLengthStreamingMode(body.length);
                try (OutputStream out = connection.getOutputStream()) {
                    out.write(body);
                }
            }
            int status = connection.getResponseCode();
            InputStream in = status >= 400 ? connection.getErrorStream() : connection.getInputStream();
            String text = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (in != null) {
                in.close();
            }
            Map<String, List<String>> names = new HashMap<>();
            connection.getHeaderFields().forEach((name, values) -> {
                if (name != null) {
                    names.put(name.toLowerCase(Locale.ROOT), values);
                }
            });
            Response response = new Response(status, text, names);
            if (status == 401 && token == null) {
                throw new WatershedException(ErrorCode.UNAUTHENTICATED, "Cannot call " + baseUrl + " without a token, and none was "
                        + "found: set WATERSHED_TOKEN, pass --token-file FILE, or run from the directory holding .watershed/ "
                        + "(the platform writes its admin token to <data dir>/admin.token)");
            }
            return response;
        } catch (ConnectException e) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot reach Watershed at " + baseUrl
                    + ": is it running? Start it with './watershed up' or './watershed demo', or pass --server URL");
        } catch (java.net.SocketTimeoutException e) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Watershed at " + baseUrl + " did not answer " + method + " " + path
                    + " within " + timeout.toSeconds() + "s", e);
        } catch (IOException | IllegalArgumentException e) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot talk to Watershed at " + baseUrl + ": " + e, e);
        } finally {
            if (connection != null) {
                connection.disconnect();
            }
        }
    }

    /** The "message" of an API error body, or the body itself. */
    static String errorMessage(Response response) {
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
