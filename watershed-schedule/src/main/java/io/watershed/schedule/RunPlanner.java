package io.watershed.schedule;

import io.watershed.schedule.Runs.Step;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.ModelSpec.Materialization;
import io.watershed.spi.WatershedException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;

/**
 * Plans what a run builds: the queued steps of a manual run, of a schedule's fire and of a backfill (one
 * run per partition), in dependency order. Plans only; nothing is stored or started here.
 */
final class RunPlanner {
    /** Most partitions (and runs) one backfill makes. */
    static final int MAX_BACKFILL_RUNS = 10_000;

    private final ModelGraph graph;

    /**
     * The runs of one backfill, in partition order.
     *
     * @param partitions the start of each run's partition, its logical time
     * @param runs the steps of each run
     * @param selection what was asked for, as the run history shows it
     */
    record Backfill(List<LocalDateTime> partitions, List<List<Step>> runs, List<String> selection) {}

    RunPlanner(ModelGraph graph) {
        this.graph = graph;
    }

    /** The steps of a manual run of the selected models: each builds the last complete period of its grain before {@code now}. */
    List<Step> run(Set<String> selected, Instant now) {
        List<Step> steps = new ArrayList<>();
        for (String name : graph.order()) {
            if (selected.contains(name)) {
                steps.add(lastPeriodStep(graph.get(name), now));
            }
        }
        return steps;
    }

    /**
     * Plans a backfill of {@code model} from {@code from} to {@code to} (see {@link ModelScheduler#backfill}).
     *
     * @throws WatershedException INVALID_INPUT for a model that is not incremental or a bad range; UNKNOWN_MODEL
     */
    Backfill backfill(String model, LocalDate from, LocalDate to, boolean downstream, Instant now) {
        ModelSpec spec = graph.model(model);
        if (spec.config().materialized() != Materialization.INCREMENTAL) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot backfill model '" + model + "': it is materialized as "
                    + "a table, which every build replaces whole; run it with `watershed run " + model + "`, or make it "
                    + "incremental (materialized: incremental, partition_by: <column>)");
        }
        if (to.isBefore(from)) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot backfill model '" + model + "': --to " + to
                    + " is before --from " + from);
        }
        ModelSpec.Grain grain = spec.config().grain();
        LocalDateTime until = to.plusDays(1).atStartOfDay();
        List<LocalDateTime> partitions = new ArrayList<>();
        for (LocalDateTime p = grain.floor(from.atStartOfDay()); p.isBefore(until); p = grain.next(p)) {
            partitions.add(p);
            if (partitions.size() > MAX_BACKFILL_RUNS) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot backfill model '" + model + "': " + from + " to "
                        + to + " is more than " + MAX_BACKFILL_RUNS + " partitions; backfill it in parts");
            }
        }
        List<List<Step>> runs = new ArrayList<>();
        partitions.forEach(p -> runs.add(new ArrayList<>(List.of(queued(model, p, grain.next(p))))));
        if (downstream) {
            Set<String> below = graph.downstreamOf(model);
            for (String name : graph.order()) {
                if (!below.contains(name)) {
                    continue;
                }
                ModelSpec m = graph.get(name);
                if (m.config().materialized() != Materialization.INCREMENTAL) {
                    runs.get(runs.size() - 1).add(lastPeriodStep(m, now));
                    continue;
                }
                // each of its partitions goes to the last run whose partition it overlaps
                Map<LocalDateTime, Integer> lastRun = new TreeMap<>();
                for (int i = 0; i < partitions.size(); i++) {
                    LocalDateTime end = grain.next(partitions.get(i));
                    for (LocalDateTime q = m.config().grain().floor(partitions.get(i)); q.isBefore(end); q = m.config().grain().next(q)) {
                        lastRun.put(q, i);
                    }
                }
                lastRun.forEach((q, i) -> runs.get(i).add(queued(name, q, m.config().grain().next(q))));
            }
        }
        List<String> selection = List.of(model + (downstream ? "+" : ""), "--from", from.toString(), "--to", to.toString());
        return new Backfill(partitions, runs, selection);
    }

    /**
     * What a scheduled run builds of a model: a full refresh once; an incremental model every period of its
     * grain that ended between the previous fire and this one (a weekly schedule of a daily model: seven).
     */
    static List<Step> periodSteps(ModelSpec model, Instant previousFire, Instant fire) {
        if (model.config().materialized() != Materialization.INCREMENTAL) {
            return List.of(lastPeriodStep(model, fire));
        }
        ModelSpec.Grain grain = model.config().grain();
        LocalDateTime end = grain.floor(LocalDateTime.ofInstant(fire, ZoneOffset.UTC));
        List<Step> steps = new ArrayList<>();
        for (LocalDateTime p = grain.floor(LocalDateTime.ofInstant(previousFire, ZoneOffset.UTC)); p.isBefore(end)
                && steps.size() < MAX_BACKFILL_RUNS; p = grain.next(p)) {
            steps.add(queued(model.name(), p, grain.next(p)));
        }
        return steps;
    }

    /** The step that builds the model's last complete period before {@code time}. */
    static Step lastPeriodStep(ModelSpec model, Instant time) {
        LocalDateTime end = model.config().grain().floor(LocalDateTime.ofInstant(time, ZoneOffset.UTC));
        return queued(model.name(), model.config().grain().previous(end), end);
    }

    /** A step not yet tried. */
    static Step queued(String model, LocalDateTime start, LocalDateTime end) {
        return new Step(model, start, end, Runs.QUEUED, 0, Optional.empty(), Optional.empty(), OptionalLong.empty(), Optional.empty(),
                List.of(), Optional.empty());
    }
}
