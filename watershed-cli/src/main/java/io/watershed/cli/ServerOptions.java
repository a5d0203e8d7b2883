package io.watershed.cli;

import picocli.CommandLine.Option;

/** Where the CLI finds a running platform. */
final class ServerOptions {
    @Option(names = "--server", paramLabel = "URL", description = "Platform URL (default: $WATERSHED_URL or http://127.0.0.1:7070).")
    String server;

    String url() {
        if (server != null) {
            return stripSlash(server);
        }
        String env = System.getenv("WATERSHED_URL");
        return env == null || env.isBlank() ? "http://127.0.0.1:7070" : stripSlash(env);
    }

    private static String stripSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
