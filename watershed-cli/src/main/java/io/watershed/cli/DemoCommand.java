package io.watershed.cli;

import io.watershed.project.ProjectLoader;
import io.watershed.spi.Project;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code watershed demo}: the built-in demo project with a click generator posting through the HTTP API. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start the platform on the clickstream project (watershed init's default template) in DATA_DIR/project, with "
                + "a generator posting web clicks.")
final class DemoCommand implements Callable<Integer> {
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
        // the clickstream template, as `watershed init` writes it; files the user changed in an earlier demo stay theirs
        Templates.write("clickstream", projectDir, "demo");
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
}
