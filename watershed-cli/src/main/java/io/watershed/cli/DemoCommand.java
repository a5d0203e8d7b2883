package io.watershed.cli;

import io.watershed.project.ProjectLoader;
import io.watershed.spi.Project;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code watershed demo}: the built-in demo project with a click generator posting through the HTTP API. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start the platform on a built-in demo project with a data generator (a stream of web clicks).")
final class DemoCommand implements Callable<Integer> {
    private static final List<String> FILES = List.of("watershed.yaml", "streams/clicks.yaml", "models/top_pages.sql",
            "checks/top_pages.yaml", "queries/clicks_per_minute.sql", "queries/revenue_by_page.sql", "dashboards/shop.yaml");

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = ".watershed/demo",
            description = "Data directory (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--port", paramLabel = "N", description = "HTTP port (default 7070).")
    Integer port;

    @Option(names = "--rate", paramLabel = "EVENTS_PER_S", defaultValue = "50", description = "Generated events per second (default ${DEFAULT-VALUE}).")
    int rate;

    @Override
    public Integer call() {
        Path projectDir = dataDir.toAbsolutePath().resolve("project");
        extract(projectDir);
        Project project = ProjectLoader.withSystemEnvironment().load(projectDir, null);
        return UpCommand.run(project, dataDir.toAbsolutePath(), port, platform -> {
            // the least the generator needs: a service user that may only write stream clicks, its earlier tokens revoked
            DemoGenerator generator = new DemoGenerator(platform.url(), platform.streamWriterToken("demo-generator", "clicks",
                    "demo generator"), rate);
            Thread thread = new Thread(generator, "demo-generator");
            thread.setDaemon(true);
            thread.start();
            System.out.println("  Demo generator: " + rate + " clicks/s into stream 'clicks' (about 2% carry a bad price and land in raw.clicks__dlq)");
            System.out.println();
        });
    }

    private static void extract(Path projectDir) {
        try {
            for (String file : FILES) {
                Path target = projectDir.resolve(file);
                if (Files.exists(target)) {
                    continue;
                }
                Files.createDirectories(target.getParent());
                try (InputStream in = DemoCommand.class.getResourceAsStream("/demo/" + file)) {
                    Files.copy(in, target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the demo project to " + projectDir, e);
        }
    }
}
