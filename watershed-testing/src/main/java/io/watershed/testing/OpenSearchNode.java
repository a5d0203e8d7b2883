package io.watershed.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSearch 2.19 node (single-node discovery, no security plugin, plain HTTP on a free loopback port) in a JVM of
 * its own, on OpenSearch's own classpath: module watershed-testing-opensearch resolves it at build time, so its Jackson
 * and Netty never meet the project's. {@link #start} returns once {@code /_cluster/health} is yellow or green;
 * {@link #close} stops it with SIGTERM and waits.
 */
public final class OpenSearchNode implements AutoCloseable {
    private static final String CLASSPATH = "io/watershed/testing/opensearch.classpath";
    private static final String MAIN = "io.watershed.testing.opensearch.OpenSearchMain";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final Path directory;
    private final String url;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private OpenSearchNode(Process process, Path directory, int port) {
        this.process = process;
        this.directory = directory;
        this.url = "http://127.0.0.1:" + port;
    }

    /** A node with a 512 MB heap, its data, logs and output ({@code node.log}) under {@code directory}. */
    public static OpenSearchNode start(Path directory) {
        return start(directory, "512m");
    }

    /** @param heap the node's {@code -Xms} and {@code -Xmx}, e.g. {@code 1g} */
    public static OpenSearchNode start(Path directory, String heap) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xms" + heap);
        command.add("-Xmx" + heap);
        command.add("-Dlog4j2.formatMsgNoLookups=true");
        command.add("-cp");
        command.add(classpath());
        command.add(MAIN);
        command.add(directory.toAbsolutePath().toString());
        Process process;
        try {
            Files.createDirectories(directory);
            Files.deleteIfExists(directory.resolve("http.port"));
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(directory.resolve("node.log").toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start an OpenSearch node in " + directory, e);
        }
        try {
            Path portFile = directory.resolve("http.port");
            Await.until("the OpenSearch node to listen", Duration.ofSeconds(180), () -> !process.isAlive() || Files.exists(portFile));
            if (!process.isAlive()) {
                throw new IllegalStateException("The OpenSearch node exited with " + process.exitValue() + ":\n" + tail(directory));
            }
            OpenSearchNode node = new OpenSearchNode(process, directory, Integer.parseInt(Files.readString(portFile).strip()));
            Await.until("OpenSearch's cluster health to be yellow or green", Duration.ofSeconds(120), () -> {
                if (!process.isAlive()) {
                    return true;
                }
                String status = node.health();
                return status.equals("yellow") || status.equals("green");
            });
            if (!process.isAlive()) {
                throw new IllegalStateException("The OpenSearch node exited with " + process.exitValue() + ":\n" + tail(directory));
            }
            return node;
        } catch (IOException | RuntimeException | AssertionError e) {
            process.destroyForcibly();
            if (e instanceof AssertionError a) {
                throw new AssertionError(a.getMessage() + "; its log ends:\n" + tail(directory), a);
            }
            throw e instanceof RuntimeException r ? r : new UncheckedIOException((IOException) e);
        }
    }

    /** The node's base URL, {@code http://127.0.0.1:<port>}. */
    public String url() {
        return url;
    }

    public long pid() {
        return process.pid();
    }

    /** Where the node's output goes. */
    public Path log() {
        return directory.resolve("node.log");
    }

    /**
     * Sends one request to the node: {@code body} (null for none) as JSON, or as NDJSON for a {@code _bulk} path. Any
     * status is returned; only an I/O failure throws.
     */
    public HttpResponse<String> send(String method, String path, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofMinutes(5))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", path.contains("_bulk") ? "application/x-ndjson" : "application/json");
        }
        try {
            return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + url + path + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + method + " " + path, e);
        }
    }

    /** The cluster's health status ({@code green}, {@code yellow}, {@code red}), or an empty string when it does not answer. */
    public String health() {
        try {
            HttpResponse<String> health = send("GET", "/_cluster/health", null);
            return health.statusCode() == 200 ? JSON.readTree(health.body()).path("status").asText() : "";
        } catch (IOException | UncheckedIOException e) {
            return "";
        }
    }

    /** SIGTERM, then waits up to a minute for the node to close (SIGKILL after that). */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** The classpath module watershed-testing-opensearch resolved at build time. */
    private static String classpath() {
        try (InputStream in = OpenSearchNode.class.getClassLoader().getResourceAsStream(CLASSPATH)) {
            if (in == null) {
                throw new IllegalStateException("No " + CLASSPATH + " on the classpath: build module watershed-testing-opensearch");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String tail(Path directory) {
        try {
            List<String> lines = Files.readAllLines(directory.resolve("node.log"), StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(cannot read " + directory.resolve("node.log") + ": " + e + ")";
        }
    }
}
