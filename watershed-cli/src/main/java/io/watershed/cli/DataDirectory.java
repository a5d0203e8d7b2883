package io.watershed.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Prepares the data directory, including a managed temp directory for native libraries (DuckDB unpacks ~70 MB per start). */
final class DataDirectory {
    private DataDirectory() {}

    static void prepare(Path data) {
        Path tmp = data.toAbsolutePath().resolve("tmp").resolve("jvm");
        try {
            if (Files.exists(tmp)) {
                try (Stream<Path> old = Files.walk(tmp)) {
                    old.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(tmp)).forEach(p -> p.toFile().delete());
                }
            }
            Files.createDirectories(tmp);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot prepare the data directory " + data, e);
        }
        System.setProperty("java.io.tmpdir", tmp.toString());
    }
}
