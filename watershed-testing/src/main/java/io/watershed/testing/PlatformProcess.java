package io.watershed.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code watershed up} in its own JVM (the test's classpath), so a test can kill it with SIGKILL or stop it with
 * SIGTERM like a user's Ctrl-C. Its address is read from the banner it prints.
 */
public final class PlatformProcess implements AutoCloseable {
    private static final Pattern ADDRESS = Pattern.compile("HTTP API\\s+(https?://\\S+)");
    private static final Pattern KAFKA = Pattern.compile("Kafka\\s+(\\S+:\\d+)");

    private final Process process;
    private final String url;
    private final String bootstrapServers;
    private final Path dataDirectory;

    private PlatformProcess(Process process, String url, String bootstrapServers, Path dataDirectory) {
        this.process = process;
        this.url = url;
        this.bootstrapServers = bootstrapServers;
        this.dataDirectory = dataDirectory;
    }

    /** The start of a log entry: its time of day, as the platform's log pattern writes it. */
    private static final Pattern LOG_ENTRY = Pattern.compile("\\d{2}:\\d{2}:\\d{2}[.,]\\d{3} ");

    public static PlatformProcess start(Path project, Path dataDirectory, Path log) {
        return start(project, dataDirectory, log, List.of("-Xmx768m"), System.getProperty("java.class.path"));
    }

    /**
     * @param jvmOptions heap and other options for the platform's JVM
     * @param classpath the platform's classpath, e.g. the distribution's {@code watershed-cli.jar:lib/*}
     */
    public static PlatformProcess start(Path project, Path dataDirectory, Path log, List<String> jvmOptions, String classpath) {
        return start(project, dataDirectory, log, jvmOptions, classpath, java.util.Map.of());
    }

    /** @param environment variables added to the platform's environment (a project's {@code ${VAR}}s) */
    public static PlatformProcess start(Path project, Path dataDirectory, Path log, List<String> jvmOptions, String classpath,
            java.util.Map<String, String> environment) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
        command.add("--add-opens=java.base/java.lang=ALL-UNNAMED");
        command.add("--add-opens=java.base/java.util=ALL-UNNAMED");
        command.add("-cp");
        command.add(classpath);
        command.add("io.watershed.cli.WatershedCommand");
        command.add("up");
        command.add("--project");
        command.add(project.toString());
        command.add("--data-dir");
        command.add(dataDirectory.toString());
        Process process = null;
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
            builder.environment().putAll(environment);
            process = builder.start();
            CompletableFuture<String> address = new CompletableFuture<>();
            CompletableFuture<String> kafka = new CompletableFuture<>();
            Process started = process;
            Thread reader = new Thread(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(started.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = out.readLine()) != null) {
                        Matcher m = ADDRESS.matcher(line);
                        if (m.find()) {
                            address.complete(m.group(1));
                        }
                        Matcher k = KAFKA.matcher(line);
                        if (k.find()) {
                            kafka.complete(k.group(1));
                        }
                    }
                } catch (IOException ignored) {
                    // the process died; the future below reports it
                }
                address.completeExceptionally(new IllegalStateException("watershed up exited before printing its address; see " + log));
            }, "platform-stdout");
            reader.setDaemon(true);
            reader.start();
            // normally 5-15 s; after a kill -9 Kafka recovers its logs first, which took over 90 s once on a busy disk
            String url = address.get(180, TimeUnit.SECONDS);
            return new PlatformProcess(process, url, kafka.get(5, TimeUnit.SECONDS), dataDirectory);
        } catch (Exception e) {
            if (process != null) {
                process.destroyForcibly();
            }
            throw new IllegalStateException("Cannot start watershed up (see " + log + "): " + e, e);
        }
    }

    public String url() {
        return url;
    }

    /** The admin token the platform wrote to its data directory. */
    public String adminToken() {
        try {
            return java.nio.file.Files.readString(dataDirectory.resolve("admin.token"), StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("Cannot read the admin token in " + dataDirectory, e);
        }
    }

    /** A client of the platform's HTTP API acting as its admin. */
    public WatershedHttp http() {
        return new WatershedHttp(url, adminToken());
    }

    /** The bootstrap address of the platform's Kafka broker. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    public long pid() {
        return process.pid();
    }

    /** Whether the platform's JVM still runs. */
    public boolean alive() {
        return process.isAlive();
    }

    /** SIGKILL: no shutdown hook runs, nothing buffered is committed. */
    public void kill() {
        process.destroyForcibly();
        waitFor(Duration.ofSeconds(30));
    }

    /** Waits for the platform to exit by itself (a crash point, a fatal error); its exit code. */
    public int awaitExit(Duration timeout) {
        return waitFor(timeout);
    }

    /** SIGTERM, like Ctrl-C: the platform commits what is buffered and exits 0. */
    public int stop(Duration timeout) {
        process.destroy();
        return waitFor(timeout);
    }

    private int waitFor(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("watershed did not exit within " + timeout.toSeconds() + "s");
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException(e));
        }
    }

    /**
     * The last {@code max} WARN and ERROR lines of a platform log, with the lines of their stack traces: what a
     * failing test prints, since the log itself is a temporary file CI does not keep.
     */
    public static String problems(Path log, int max) {
        List<String> lines;
        try {
            lines = java.nio.file.Files.readAllLines(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
        java.util.ArrayDeque<String> kept = new java.util.ArrayDeque<>();
        boolean inProblem = false;
        for (String line : lines) {
            boolean entry = LOG_ENTRY.matcher(line).lookingAt();
            if (entry) {
                inProblem = line.contains(" WARN ") || line.contains(" ERROR ");
            }
            if (inProblem) {
                kept.addLast(line);
                if (kept.size() > max) {
                    kept.removeFirst();
                }
            }
        }
        return kept.isEmpty() ? "(no WARN or ERROR lines in " + log + ")" : String.join("\n", kept);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
