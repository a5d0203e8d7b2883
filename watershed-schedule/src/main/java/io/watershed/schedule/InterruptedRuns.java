package io.watershed.schedule;

import io.watershed.schedule.Runs.Run;
import io.watershed.schedule.Runs.Step;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recovery at start: the runs the platform stopped in the middle of are failed in the run history, their
 * unfinished steps failed (or skipped when a model they read did not finish), so that
 * {@code watershed runs retry} resumes them.
 */
final class InterruptedRuns {
    private static final Logger LOG = LoggerFactory.getLogger(InterruptedRuns.class);

    private InterruptedRuns() {}

    /** Fails every unfinished run in {@code store} but those {@code stillRunning} (here, or on another live instance). */
    static void fail(RunStore store, ModelGraph graph, Clock clock, java.util.function.LongPredicate stillRunning) {
        for (Run run : store.unfinished()) {
            if (stillRunning.test(run.id())) {
                continue;
            }
            Instant now = clock.instant();
            Map<String, String> states = new HashMap<>();
            for (Step step : run.steps()) {
                Step next = step;
                if (!Runs.terminal(step.state())) {
                    Optional<String> failedUpstream = graph.contains(step.model()) ? graph.get(step.model()).upstreamModels()
                            .stream().filter(u -> Set.of(Runs.FAILED, Runs.UPSTREAM_FAILED).contains(states.get(u))).findFirst()
                            : Optional.empty();
                    if (failedUpstream.isPresent()) {
                        next = new Step(step.model(), step.start(), step.end(), Runs.UPSTREAM_FAILED, step.attempts(), Optional.empty(),
                                Optional.of(now), OptionalLong.empty(), Optional.of("skipped: model '" + failedUpstream.get()
                                + "', which it reads, did not finish"), List.of(), Optional.empty());
                    } else {
                        next = new Step(step.model(), step.start(), step.end(), Runs.FAILED, step.attempts(), step.startedAt(),
                                Optional.of(now), OptionalLong.empty(), Optional.of(step.state().equals(Runs.QUEUED)
                                ? "not started: the platform stopped first" : "the platform stopped before this step finished; "
                                + "its table is as the last successful build left it"), step.checks(), Optional.empty());
                    }
                    store.updateStep(run.id(), next);
                }
                // a model's state in this run: failed if any of its steps failed
                if (!Runs.FAILED.equals(states.get(step.model()))) {
                    states.put(step.model(), next.state());
                }
            }
            store.updateRun(run.id(), Runs.FAILED, run.startedAt(), Optional.of(now), Optional.of("the platform stopped during "
                    + "the run; `watershed runs retry " + run.id() + "` runs what did not finish"));
            LOG.warn("Run {} was interrupted by a stop of the platform; retry it with `watershed runs retry {}`", run.id(), run.id());
        }
    }
}
