package io.watershed.stream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The project's jars of user-defined functions, which every pipeline job and model build gets on its classpath. */
public final class FunctionJars {
    private FunctionJars() {}

    /** The jars in {@code functions/} of the project directory ({@code functions/*.jar}), in name order. */
    public static List<Path> of(Path projectDirectory) {
        Path functions = projectDirectory.resolve("functions");
        if (!Files.isDirectory(functions)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(functions)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the function jars in " + functions, e);
        }
    }

    /** Adds the jars to a table environment: its planner loads the functions from them, and its jobs ship them. */
    static void add(org.apache.flink.table.api.TableEnvironment env, List<Path> jars) {
        for (Path jar : jars) {
            env.executeSql("ADD JAR '" + jar.toAbsolutePath().toString().replace("'", "''") + "'");
        }
    }
}
