package io.watershed.spi;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A loaded, validated project: its folder, its settings, its declared streams, pipelines and models by
 * name, its checks, its named schedules (name to cron expression), the sinks pipelines write by name, and its trained
 * models ({@code ml/<name>.yaml}) by name.
 */
public record Project(Path directory, String name, String profile, Settings settings, Map<String, StreamSpec> streams,
        Map<String, PipelineSpec> pipelines, Map<String, ModelSpec> models, List<CheckSpec> checks, Map<String, String> schedules,
        Map<String, SinkSpec> sinks, Map<String, MlSpec> ml) {
    public Project {
        sinks = Map.copyOf(sinks);
        ml = Map.copyOf(ml);
        streams = Map.copyOf(streams);
        pipelines = Map.copyOf(pipelines);
        models = Map.copyOf(models);
        checks = List.copyOf(checks);
        schedules = Map.copyOf(schedules);
    }

    public Project(Path directory, String name, String profile, Settings settings, Map<String, StreamSpec> streams,
            Map<String, PipelineSpec> pipelines, Map<String, ModelSpec> models, List<CheckSpec> checks, Map<String, String> schedules,
            Map<String, SinkSpec> sinks) {
        this(directory, name, profile, settings, streams, pipelines, models, checks, schedules, sinks, Map.of());
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
        return new Project(directory, name, profile, changed, streams, pipelines, models, checks, schedules, sinks, ml);
    }
}
