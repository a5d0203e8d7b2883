package io.watershed.spi;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A loaded, validated project: its folder, its settings, its declared streams, pipelines and models by
 * name, its checks, its named schedules (name to cron expression), and the sinks pipelines write by name.
 */
public record Project(Path directory, String name, String profile, Settings settings, Map<String, StreamSpec> streams,
        Map<String, PipelineSpec> pipelines, Map<String, ModelSpec> models, List<CheckSpec> checks, Map<String, String> schedules,
        Map<String, SinkSpec> sinks) {
    public Project {
        sinks = Map.copyOf(sinks);
        streams = Map.copyOf(streams);
        pipelines = Map.copyOf(pipelines);
        models = Map.copyOf(models);
        checks = List.copyOf(checks);
        schedules = Map.copyOf(schedules);
    }

    public Project(Path directory, String name, String profile, Settings settings, Map<String, StreamSpec> streams,
            Map<String, PipelineSpec> pipelines, Map<String, ModelSpec> models, List<CheckSpec> checks, Map<String, String> schedules) {
        this(directory, name, profile, settings, streams, pipelines, models, checks, schedules, Map.of());
    }

    public Project(Path directory, String name, String profile, Settings settings, Map<String, StreamSpec> streams,
            Map<String, PipelineSpec> pipelines) {
        this(directory, name, profile, settings, streams, pipelines, Map.of(), List.of(), Map.of());
    }

    public Project withSettings(Settings changed) {
        return new Project(directory, name, profile, changed, streams, pipelines, models, checks, schedules, sinks);
    }
}
