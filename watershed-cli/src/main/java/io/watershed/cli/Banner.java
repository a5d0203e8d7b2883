package io.watershed.cli;

import io.watershed.project.Boards;
import io.watershed.project.ProjectLoader;
import io.watershed.project.SqlReferences;
import io.watershed.server.Platform;
import io.watershed.spi.PipelineSpec;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** What {@code up} and {@code demo} print once the platform accepts requests. */
final class Banner {
    private Banner() {}

    /** The path as typed from the working directory, when it is below it. */
    static String relative(Path file) {
        Path here = Path.of("").toAbsolutePath();
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
                ? List.of("(none declared; created on first use)") : new TreeSet<>(platform.project().streams().keySet())));
        List<String> liveViews = new ArrayList<>();
        for (PipelineSpec pipeline : new TreeMap<>(platform.project().pipelines()).values()) {
            // what its statements write (its job is still being planned when this prints)
            Set<String> outputs = SqlReferences.pipelineOutputs(pipeline.sql());
            out.println("  Pipeline   " + pipeline.name() + (outputs.isEmpty() ? "" : " → " + String.join(", ", outputs))
                    + "   (" + url + "/console/#/lineage)");
            outputs.stream().filter(o -> o.startsWith("live.")).forEach(liveViews::add);
        }
        if (!platform.project().models().isEmpty()) {
            out.println("  Models     " + String.join(", ", new TreeSet<>(platform.project().models().keySet()))
                    + "   (" + url + "/console/#/runs)");
        }
        for (Boards.Dashboard dashboard : ProjectLoader.withSystemEnvironment().boards(platform.project().directory()).dashboards()) {
            out.println("  Dashboard  " + url + "/console/#/dashboards/" + dashboard.name() + "   (" + dashboard.title() + ")");
        }
        out.println();
        // the first declared stream (clicks in the demo), or one created by the first event sent to it
        String stream = platform.project().streams().isEmpty() ? "events" : new TreeSet<>(platform.project().streams().keySet()).first();
        String event = stream.equals("clicks") ? "{\"user\":\"ada\",\"page\":\"/home\"}" : "{\"message\":\"hello\"}";
        out.println("  Try next:");
        out.println("    echo '" + event + "' | " + env + "./watershed send " + stream + " -");
        out.println("    curl -s -H \"Authorization: Bearer $(cat " + relative(platform.adminTokenFile()) + ")\" " + url
                + "/v1/streams/" + stream + "/events -d '" + event + "'");
        out.println("    " + env + "./watershed sql -c \"" + (stream.equals("clicks")
                ? "SELECT page, count(*) FROM raw.clicks GROUP BY ALL ORDER BY 2 DESC"
                : "SELECT * FROM raw." + stream + " ORDER BY _ingested_at DESC LIMIT 10") + "\"");
        out.println("    " + env + "./watershed sql -c \"SELECT reason, raw FROM raw." + stream + "__dlq\"");
        for (String view : liveViews) {
            out.println("    " + env + "./watershed sql -c \"SELECT * FROM " + view + "\"   # the speed layer, current within a second");
        }
        out.println("    " + env + "./watershed sql                 # interactive SQL");
        out.println("    " + env + "./watershed tables              # files, snapshots and compaction of each lake table");
        if (!platform.project().pipelines().isEmpty()) {
            out.println("    " + env + "./watershed pipelines           # state, lag and throughput of each pipeline");
        }
        if (!platform.project().models().isEmpty()) {
            out.println("    " + env + "./watershed run                 # build the models now ("
                    + String.join(", ", new TreeSet<>(platform.project().models().keySet())) + "), then: " + env + "./watershed runs");
        }
        out.println();
        out.println("  Ctrl-C stops the platform, committing what is buffered.");
        out.println();
        out.flush();
    }
}
