package io.watershed.testing;

import io.watershed.project.ProjectLoader;
import io.watershed.spi.Project;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes a project folder for a test: free ports, a short commit interval, and the given streams. */
public final class TestProject {
    private final Path directory;
    private final StringBuilder yaml = new StringBuilder();
    private final Map<String, String> streams = new LinkedHashMap<>();
    private String commitInterval = "1s";

    private TestProject(Path directory) {
        this.directory = directory;
        yaml.append("name: test\n");
    }

    private final StringBuilder http = new StringBuilder("  port: 0\n");
    private final StringBuilder bus = new StringBuilder("  port: 0\n");

    /** Adds a key of the {@code http:} section beside {@code port: 0}, such as {@code tls_keystore}. */
    public TestProject http(String key, String value) {
        http.append("  ").append(key).append(": ").append(value).append('\n');
        return this;
    }

    /** Adds a key of the {@code bus:} section beside {@code port: 0}, such as {@code plaintext}. */
    public TestProject bus(String key, String value) {
        bus.append("  ").append(key).append(": ").append(value).append('\n');
        return this;
    }

    /** The lake writer's commit interval (1s unless set). */
    public TestProject commitInterval(String interval) {
        this.commitInterval = interval;
        return this;
    }

    private final StringBuilder lake = new StringBuilder();

    /** Adds a key of the {@code lake:} section, such as {@code upkeep_interval}, beside the commit interval. */
    public TestProject lake(String key, String value) {
        lake.append("  ").append(key).append(": ").append(value).append('\n');
        return this;
    }

    private final StringBuilder ingest = new StringBuilder("  forward_port: 0\n");

    /**
     * Adds a key of the {@code ingest:} section. The Fluentd forward listener takes a free port ({@code forward_port: 0})
     * unless set here.
     */
    public TestProject ingest(String key, String value) {
        if (key.equals("forward_port")) {
            ingest.setLength(0);
        }
        ingest.append("  ").append(key).append(": ").append(value).append('\n');
        return this;
    }

    public static TestProject in(Path directory) {
        return new TestProject(directory);
    }

    /** Appends raw YAML to watershed.yaml (without http, bus, ingest or lake sections, which this class writes). */
    public TestProject yaml(String text) {
        yaml.append(text).append('\n');
        return this;
    }

    private final Map<String, String> pipelines = new java.util.LinkedHashMap<>();

    public TestProject stream(String name, String body) {
        streams.put(name, body);
        return this;
    }

    /** Adds {@code pipelines/<name>.sql}. */
    public TestProject pipeline(String name, String sql) {
        pipelines.put(name, sql);
        return this;
    }

    private final Map<String, String> files = new java.util.LinkedHashMap<>();

    /** Adds {@code models/<name>.sql}. */
    public TestProject model(String name, String sql) {
        return file("models/" + name + ".sql", sql);
    }

    /** Adds any file of the project, such as {@code checks/orders.yaml}. */
    public TestProject file(String path, String text) {
        files.put(path, text);
        return this;
    }

    public Path write() {
        try {
            for (Map.Entry<String, String> f : files.entrySet()) {
                Path file = directory.resolve(f.getKey());
                Files.createDirectories(file.getParent());
                Files.writeString(file, f.getValue());
            }
            if (!pipelines.isEmpty()) {
                Files.createDirectories(directory.resolve("pipelines"));
            }
            for (Map.Entry<String, String> p : pipelines.entrySet()) {
                Files.writeString(directory.resolve("pipelines").resolve(p.getKey() + ".sql"), p.getValue());
            }
            Files.createDirectories(directory.resolve("streams"));
            Files.writeString(directory.resolve("watershed.yaml"), yaml + "http:\n" + http + "bus:\n" + bus + "ingest:\n" + ingest + "pg:\n  port: 0\n" + "lake:\n  commit_interval: "
                    + commitInterval + "\n" + lake);
            for (Map.Entry<String, String> s : streams.entrySet()) {
                Files.writeString(directory.resolve("streams").resolve(s.getKey() + ".yaml"), "name: " + s.getKey() + "\n" + s.getValue());
            }
            return directory;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Project load() {
        return new ProjectLoader(Map.of()).load(write(), null);
    }

    /** Loads it as {@code watershed up --profile <profile>} would, with {@code environment} for its {@code ${VAR}}s. */
    public Project load(String profile, Map<String, String> environment) {
        return new ProjectLoader(environment).load(write(), profile);
    }
}
