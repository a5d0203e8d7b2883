package io.watershed.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * Where the CLI finds a running platform, and the token it sends: {@code $WATERSHED_TOKEN}, else {@code --token-file},
 * else the admin token of a platform started from this directory ({@code .watershed/admin.token} for {@code up},
 * {@code .watershed/demo/admin.token} for {@code demo}).
 */
final class ServerOptions {
    static final List<Path> TOKEN_FILES = List.of(Path.of(".watershed", "admin.token"), Path.of(".watershed", "demo", "admin.token"));

    @Option(names = "--server", paramLabel = "URL", description = "Platform URL (default: $WATERSHED_URL or http://127.0.0.1:7070).")
    String server;

    @Option(names = "--token-file", paramLabel = "FILE", description = "File holding the token to send (default: $WATERSHED_TOKEN, "
            + "else .watershed/admin.token or .watershed/demo/admin.token here).")
    Path tokenFile;

    String url() {
        if (server != null) {
            return stripSlash(server);
        }
        String env = System.getenv("WATERSHED_URL");
        return env == null || env.isBlank() ? "http://127.0.0.1:7070" : stripSlash(env);
    }

    /** The token to send, or null when none is found (the platform then answers 401 saying how to get one). */
    String token() {
        String env = System.getenv("WATERSHED_TOKEN");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        if (tokenFile != null) {
            return read(tokenFile);
        }
        for (Path candidate : TOKEN_FILES) {
            if (Files.isReadable(candidate)) {
                return read(candidate);
            }
        }
        return null;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the token file " + file, e);
        }
    }

    private static String stripSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
