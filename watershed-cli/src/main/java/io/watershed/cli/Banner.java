package io.watershed.cli;

import io.watershed.server.Platform;
import java.io.PrintStream;

/** What {@code up} and {@code demo} print once the platform accepts requests. */
final class Banner {
    private Banner() {}

    /** The path as typed from the working directory, when it is below it. */
    static String relative(java.nio.file.Path file) {
        java.nio.file.Path here = java.nio.file.Path.of("").toAbsolutePath();
        return file.startsWith(here) ? here.relativize(file).toString() : file.toString();
    }

    static void print(Platform platform, long startupMillis) {
        PrintStream out = System.out;
        String url = platform.url();
        String env = url.equals("http://127.0.0.1:7070") ? "" : "WATERSHED_URL=" + url + " ";
        out.println();
        out.println("  Watershed is up — project '" + platform.project().name() + "' (profile " + platform.project().profile()
                + "), ready in " + startupMillis + " ms");
        out.println();
        out.println("  HTTP API   " + url + "      metrics " + url + "/metrics");
        out.println("  Console    " + url + "/console/   (sign in with the token below)");
        out.println("  Kafka      " + platform.kafkaAddress() + (!platform.embeddedBus() ? ""
                : platform.kafkaAuthenticated() ? "   (embedded KRaft broker; SASL " + String.join(", ", platform.kafkaMechanisms())
                        + "; user = a token's id, password = the token)"
                : "   (embedded KRaft broker, no authentication: bus.plaintext)"));
        platform.forwardPort().ifPresent(port -> out.println("  Fluentd    " + platform.project().settings().ingest()
                .forwardHost() + ":" + port + "   (forward protocol: Fluentd, Fluent Bit, fluent-logger)"));
        out.println("  Data       " + platform.dataDirectory());
        out.println("  Token      " + platform.adminTokenFile() + "   (admin; the CLI finds it, curl: -H \"Authorization: Bearer $(cat "
                + relative(platform.adminTokenFile()) + ")\")");
        out.println("  Streams    " + String.join(", ", platform.project().streams().keySet().isEmpty()
                ? java.util.List.of("(none declared; created on first use)") : platform.project().streams().keySet()));
        out.println();
        out.println("  Try next:");
        out.println("    echo '{\"user\":\"ada\",\"page\":\"/home\"}' | " + env + "./watershed send clicks -");
        out.println("    curl -s -H \"Authorization: Bearer $(cat " + relative(platform.adminTokenFile()) + ")\" " + url
                + "/v1/streams/clicks/events -d '{\"user\":\"bob\",\"page\":\"/cart\"}'");
        out.println("    " + env + "./watershed sql -c \"SELECT page, count(*) FROM raw.clicks GROUP BY ALL ORDER BY 2 DESC\"");
        out.println("    " + env + "./watershed sql -c \"SELECT reason, raw FROM raw.clicks__dlq\"");
        out.println("    " + env + "./watershed sql                 # interactive SQL");
        out.println("    " + env + "./watershed tables              # files, snapshots and compaction of each lake table");
        if (!platform.project().models().isEmpty()) {
            out.println("    " + env + "./watershed run                 # build the models now ("
                    + String.join(", ", new java.util.TreeSet<>(platform.project().models().keySet())) + "), then: " + env + "./watershed runs");
        }
        out.println();
        out.println("  Ctrl-C stops the platform, committing what is buffered.");
        out.println();
        out.flush();
    }
}
