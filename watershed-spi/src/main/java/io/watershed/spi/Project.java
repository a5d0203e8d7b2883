package io.watershed.spi;

import java.nio.file.Path;
import java.util.Map;

/** A loaded, validated project: its folder, its settings and its declared streams by name. */
public record Project(Path directory, String name, String profile, Settings settings, Map<String, StreamSpec> streams) {
    public Project {
        streams = Map.copyOf(streams);
    }
}
