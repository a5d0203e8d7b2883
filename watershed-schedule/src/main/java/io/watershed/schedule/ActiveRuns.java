package io.watershed.schedule;

import io.watershed.schedule.Runs.Run;
import io.watershed.schedule.Runs.Step;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runs not finished and the state of their steps: which step may start now (its upstream steps succeeded,
 * its retry is due, a build slot is free and no other build of its model is in flight), which is skipped as
 * {@code upstream_failed}, and when a run is done. Every change goes to the run history before it takes effect
 * here. Not thread-safe: the scheduler calls it under its lock.
 */
final class ActiveRuns {
    private static final Logger LOG = LoggerFactory.getLogger(ActiveRuns.class);

    private final ModelGraph graph;
    private final RunStore store;
    private final Clock clock;
    private final int maxConcurrentBuilds;
    /** Runs not finished, oldest first. */
    private final Map<Long, ActiveRun> active = new LinkedHashMap<>();
    private int inFlight;
    /** Models with a build in flight: one build of a model at a time, each from the table the last one left. */
    private final Set<String> building = new HashSet<>();

    /** A step that {@link #dispatch} marked running: the caller executes it, then reports it to {@link #finished}. */
    record Started(long runId, Step step) {}

    /** What {@link #dispatch} started, and in how many ms a retry is due. */
    record Dispatch(List<Started> started, long waitMillis) {}

    /** A run being executed: its steps with mutable state, in dependency order. */
    private static final class ActiveRun {
        Run run;
        final List<Step> steps;
        /** The runs of one backfill, in partition order: a step also waits for the upstream steps of the runs before it. */
        List<ActiveRun> group;
        int index;

        ActiveRun(Run run) {
            this.run = run;
            this.steps = new ArrayList<>(run.steps());
        }
    }

    ActiveRuns(ModelGraph graph, RunStore store, Clock clock, int maxConcurrentBuilds) {
        this.graph = graph;
        this.store = store;
        this.clock = clock;
        this.maxConcurrentBuilds = maxConcurrentBuilds;
    }

    /** Adds a run already in the run history (a new one, or a failed one queued again). */
    void add(Run run) {
        active.put(run.id(), new ActiveRun(run));
    }

    /** Adds the runs of one backfill, in partition order: a step of one waits for the upstream steps of those before it. */
    void addBackfill(List<Run> runs) {
        List<ActiveRun> group = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            ActiveRun a = new ActiveRun(runs.get(i));
            a.group = group;
            a.index = i;
            group.add(a);
            active.put(a.run.id(), a);
        }
    }

    /** The run with its steps as they are now, when it is not finished. */
    Optional<Run> find(long id) {
        ActiveRun run = active.get(id);
        return run == null ? Optional.empty() : Optional.of(snapshot(run));
    }

    /**
     * Starts every step that may start: marks it running (the caller executes it) or skipped when a step it reads
     * failed; finishes the runs whose steps are all done.
     *
     * @param stopping no step starts while the platform stops
     */
    Dispatch dispatch(boolean stopping) {
        Instant now = clock.instant();
        long wait = 1000;
        List<Started> launched = new ArrayList<>();
        for (ActiveRun run : List.copyOf(active.values())) {
            if (run.run.state().equals(Runs.QUEUED)) {
                run.run = withState(run.run, Runs.RUNNING, Optional.of(run.run.startedAt().orElse(now)), Optional.empty(), Optional.empty());
                store.updateRun(run.run.id(), Runs.RUNNING, run.run.startedAt(), Optional.empty(), Optional.empty());
            }
            for (int i = 0; i < run.steps.size(); i++) {
                Step step = run.steps.get(i);
                boolean waiting = step.state().equals(Runs.QUEUED) || step.state().equals(Runs.UP_FOR_RETRY);
                if (!waiting) {
                    continue;
                }
                Optional<Step> failedUpstream = upstreamSteps(run, step).stream()
                        .filter(s -> s.state().equals(Runs.FAILED) || s.state().equals(Runs.UPSTREAM_FAILED)).findFirst();
                if (failedUpstream.isPresent()) {
                    Step skipped = new Step(step.model(), step.start(), step.end(), Runs.UPSTREAM_FAILED, step.attempts(),
                            Optional.empty(), Optional.of(now), OptionalLong.empty(), Optional.of("skipped: model '"
                            + failedUpstream.get().model() + "', which it reads, " + (failedUpstream.get().state().equals(Runs.FAILED)
                            ? "failed" : "was skipped")), List.of(), Optional.empty());
                    set(run, i, skipped);
                    continue;
                }
                if (!upstreamSteps(run, step).stream().allMatch(s -> s.state().equals(Runs.SUCCESS))) {
                    continue;
                }
                if (step.nextAttemptAt().isPresent() && step.nextAttemptAt().get().isAfter(now)) {
                    wait = Math.min(wait, Duration.between(now, step.nextAttemptAt().get()).toMillis());
                    continue;
                }
                if (inFlight >= maxConcurrentBuilds || stopping || building.contains(step.model())) {
                    continue;
                }
                Step started = new Step(step.model(), step.start(), step.end(), Runs.RUNNING, step.attempts() + 1, Optional.of(now),
                        Optional.empty(), OptionalLong.empty(), Optional.empty(), List.of(), Optional.empty());
                set(run, i, started);
                inFlight++;
                building.add(step.model());
                launched.add(new Started(run.run.id(), started));
            }
            finishIfDone(run);
        }
        return new Dispatch(launched, wait);
    }

    /**
     * Records how a started step ended and frees its build slot.
     *
     * @throws IllegalStateException when the run history is closed
     */
    void finished(long runId, Step step, Step outcome) {
        inFlight--;
        building.remove(step.model());
        ActiveRun run = active.get(runId);
        if (run != null) {
            for (int i = 0; i < run.steps.size(); i++) {
                Step s = run.steps.get(i);
                if (s.model().equals(step.model()) && s.start().equals(step.start())) {
                    set(run, i, outcome);
                }
            }
        }
    }

    /**
     * Steps of the run whose models the step's model reads; in a backfill, also those of the backfill's earlier
     * runs (a downstream partition, or a full refresh in the last run, reads every partition built before it).
     */
    private List<Step> upstreamSteps(ActiveRun run, Step step) {
        Set<String> upstream = new HashSet<>(graph.get(step.model()).upstreamModels());
        List<ActiveRun> scope = run.group == null ? List.of(run) : run.group.subList(0, run.index + 1);
        return scope.stream().flatMap(r -> r.steps.stream()).filter(s -> upstream.contains(s.model())).toList();
    }

    private void finishIfDone(ActiveRun run) {
        if (!run.steps.stream().allMatch(s -> Runs.terminal(s.state()))) {
            return;
        }
        Optional<Step> failed = run.steps.stream().filter(s -> s.state().equals(Runs.FAILED)).findFirst();
        Instant now = clock.instant();
        String state = failed.isPresent() ? Runs.FAILED : Runs.SUCCESS;
        Optional<String> error = failed.map(s -> "model '" + s.model() + "' failed: " + s.error().orElse("")
                .lines().findFirst().orElse(""));
        run.run = withState(run.run, state, run.run.startedAt(), Optional.of(now), error);
        store.updateRun(run.run.id(), state, run.run.startedAt(), Optional.of(now), error);
        active.remove(run.run.id());
        LOG.info("Run {} {}{}", run.run.id(), state, error.map(e -> ": " + e).orElse(""));
    }

    private void set(ActiveRun run, int index, Step step) {
        store.updateStep(run.run.id(), step);
        run.steps.set(index, step);
    }

    private static Run snapshot(ActiveRun run) {
        return new Run(run.run.id(), run.run.trigger(), run.run.selection(), run.run.logicalTime(), run.run.state(), run.run.createdAt(),
                run.run.startedAt(), run.run.endedAt(), run.run.error(), run.steps);
    }

    private static Run withState(Run run, String state, Optional<Instant> startedAt, Optional<Instant> endedAt, Optional<String> error) {
        return new Run(run.id(), run.trigger(), run.selection(), run.logicalTime(), state, run.createdAt(), startedAt, endedAt, error,
                run.steps());
    }
}
