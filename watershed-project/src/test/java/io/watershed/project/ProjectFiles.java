package io.watershed.project;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** A project folder written file by file, for the loader's tests. */
final class ProjectFiles {
    private ProjectFiles() {}

    static void write(Path dir, String file, String text) throws IOException {
        Path path = dir.resolve(file);
        Files.createDirectories(path.getParent());
        Files.writeString(path, text);
    }

    /** Every problem the loader reports, as file:line:col: message; fails when the project is valid. */
    static List<String> problems(Path dir, Map<String, String> env) {
        try {
            new ProjectLoader(env).load(dir, null);
        } catch (ProjectInvalidException e) {
            return e.problems().stream().map(Problem::toString).toList();
        }
        throw new AssertionError("expected the project to be invalid");
    }
}
