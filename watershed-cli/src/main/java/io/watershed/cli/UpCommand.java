package io.watershed.cli;

import io.watershed.project.ProjectLoader;
import io.watershed.server.Platform;
import io.watershed.spi.Project;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import sun.misc.Signal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code watershed up}: starts the platform for a project and runs until Ctrl-C or SIGTERM. */
@Command(name = "up", mixinStandardHelpOptions = true, description = "Start the platform for a project (Ctrl-C stops it, committing what is buffered).")
final class UpCommand implements Callable<Integer> {
    @Option(names = "--project", paramLabel = "DIR", defaultValue = ".", description = "Project folder (default: current directory).")
    Path project;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Where the broker log, lake and metadata live (default: PROJECT/.watershed).")
    Path dataDir;

    @Option(names = "--port", paramLabel = "N", description = "HTTP port (default: http.port, 7070).")
    Integer port;

    @Option(names = "--profile", paramLabel = "NAME", description = "Profile of watershed.yaml to apply (default: its 'profile', or local).")
    String profile;

    @Override
    public Integer call() {
        Project loaded = ProjectLoader.withSystemEnvironment().load(project, profile);
        Path data = dataDir != null ? dataDir : loaded.directory().resolve(".watershed");
        return run(loaded, data, port, null);
    }

    /** Starts, prints the banner, runs {@code whileUp} (may be null) and blocks until the JVM is asked to stop. */
    static int run(Project loaded, Path data, Integer port, java.util.function.Consumer<Platform> whileUp) {
        if (port != null) {
            loaded = loaded.withSettings(loaded.settings().withPort(port));
        }
        DataDirectory.prepare(data);
        long t0 = System.nanoTime();
        Platform platform = Platform.start(loaded, data);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        CountDownLatch stopRequested = new CountDownLatch(1);
        // Ctrl-C and SIGTERM end in an orderly stop and exit 0; the hook covers other ways the JVM is asked to exit
        for (String signal : new String[] {"INT", "TERM"}) {
            Signal.handle(new Signal(signal), s -> stopRequested.countDown());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(platform::close, "watershed-shutdown"));
        Banner.print(platform, ms);
        if (whileUp != null) {
            whileUp.accept(platform);
        }
        try {
            stopRequested.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.out.println("Stopping: committing buffered events to the lake...");
        platform.close();
        System.out.println("Stopped.");
        return 0;
    }
}
