package io.watershed.stream;

import io.watershed.spi.BusConnection;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.StreamRegistry;
import io.watershed.spi.StreamSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.regex.Matcher;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;

/**
 * Plans the project's pipelines and models as the platform would, without running anything ({@code watershed
 * validate}): the catalog is a {@link PlanningCatalog}, streams are the declared ones and those pipelines write; no
 * lake, broker or cluster is touched.
 */
public final class ProjectValidation {
    private ProjectValidation() {}

    /**
     * What validation found.
     *
     * @param problems every mistake, as {@code pipelines/<file>:line:col: reason} or {@code models/<file>:line:col: reason}
     * @param unchecked pipelines and models that could not be fully checked, because they read a table or stream whose
     *        columns are known only once the platform has run
     */
    public record Result(List<String> problems, List<String> unchecked) {}

    /** Plans every pipeline (see the class). */
    public static Result validate(Collection<PipelineSpec> specs, Collection<StreamSpec> streams, List<Path> functionJars) {
        return validate(specs, List.of(), streams, functionJars);
    }

    /**
     * Plans pipelines, then the models in batch mode in the same throwaway catalog (where the pipelines' tables now
     * exist), each model's result becoming a table for the models that read it.
     */
    public static Result validate(Collection<PipelineSpec> specs, Collection<ModelSpec> models, Collection<StreamSpec> streams,
            List<Path> functionJars) {
        return validate(specs, models, streams, Map.of(), functionJars);
    }

    /** As above, for a project whose pipelines may write {@code sinks} (by name). */
    public static Result validate(Collection<PipelineSpec> specs, Collection<ModelSpec> models, Collection<StreamSpec> streams,
            Map<String, io.watershed.spi.SinkSpec> sinks, List<Path> functionJars) {
        Map<String, StreamSpec> known = new ConcurrentHashMap<>();
        streams.forEach(s -> known.put(s.name(), s));
        StreamRegistry registry = new StreamRegistry() {
            @Override
            public Optional<StreamSpec> resolve(String name, boolean createIfMissing) {
                return Optional.ofNullable(createIfMissing ? known.computeIfAbsent(name, n -> StreamSpec.inferred(n, 1)) : known.get(name));
            }

            @Override
            public Collection<StreamSpec> streams() {
                return List.copyOf(known.values());
            }
        };
        PipelineContext context = new PipelineContext(null, null, BusConnection.plain("127.0.0.1:9092"), "watershed", Map.of(), null,
                registry, 1, Duration.ofSeconds(5), functionJars, Duration.ofSeconds(10), java.util.Optional.empty(), null, sinks);
        Map<String, Pipeline> pipelines = new ConcurrentSkipListMap<>();
        specs.forEach(s -> pipelines.put(s.name(), new Pipeline(s)));
        List<String> problems = new ArrayList<>();
        List<String> unchecked = new ArrayList<>();
        LiveViews liveViews = LiveViews.open(UUID.randomUUID().toString());
        try (PlanningCatalog catalog = new PlanningCatalog()) {
            PipelinePlanner planner = new PipelinePlanner(new PipelineTables(context, liveViews, pipelines, Optional.of(catalog)),
                    functionJars);
            for (Pipeline pipeline : Pipeline.inDependencyOrder(pipelines.values(), registry.streams(), Pipeline::fail)) {
                if (!pipeline.failed()) {
                    plan(planner, pipeline);
                }
                if (pipeline.failed()) {
                    Matcher missing = FlinkErrors.MISSING_TABLE.matcher(pipeline.error);
                    if (missing.find() && !missing.group(1).startsWith("watershed.streams.")) {
                        unchecked.add(pipeline.error + " (not checked further: lake tables other than raw.<stream> are "
                                + "known once the platform has run)");
                    } else {
                        problems.add(pipeline.error);
                    }
                }
            }
            if (!models.isEmpty()) {
                ModelPlanner.plan(models, catalog, registry.streams(), functionJars, problems, unchecked);
            }
        } finally {
            liveViews.close();
        }
        return new Result(problems, unchecked);
    }

    private static void plan(PipelinePlanner planner, Pipeline pipeline) {
        try {
            TableEnvironment env = TableEnvironment.create(EnvironmentSettings.newInstance().inStreamingMode().withConfiguration(
                    Configuration.fromMap(Map.of("table.local-time-zone", "UTC"))).build());
            pipeline.run = "validate";
            PipelinePlanner.Plan plan = planner.plan(env, pipeline);
            try {
                plan.inserts().explain();
            } catch (RuntimeException e) {
                throw new Pipeline.PipelineException(FlinkErrors.locatedAtSink(pipeline.file(), plan.targets(), e), e);
            }
            pipeline.state = "PLANNED";
        } catch (Pipeline.PipelineException e) {
            pipeline.fail(e.getMessage());
        } catch (RuntimeException e) {
            pipeline.fail(pipeline.spec.file().getFileName() + ": " + FlinkErrors.rootMessage(e));
        }
    }
}
