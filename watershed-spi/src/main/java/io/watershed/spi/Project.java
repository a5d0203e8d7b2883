package io.watershed.spi;

import java.nio.file.Path;
import java.util.Map;

/** A loaded, validated project: its folder, its settings, its declared streams and its pipelines by name. */
public record Project(Path directory, String name, String profile, Settings settings, Map<String, StreamSpec> streams,
        Map<String, PipelineSpec> pipelines) {
    public Project {
        streams = Map.copyOf(streams);
        pipelines = Map.copyOf(pipelines);
    }

    public Project withSettings(Settings changed) {
        return new Project(directory, name, profile, changed, streams, pipelines);
    }
}
