package io.watershed.schedule;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.watershed.schedule.Runs.CheckResult;
import io.watershed.schedule.Runs.Run;
import io.watershed.schedule.Runs.Step;
import io.watershed.spi.CheckSpec;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.ModelBuilder;
import io.watershed.spi.ModelBuilder.BuildResult;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.ModelSpec.Materialization;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.Settings;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs batch models: a run is a set of steps (one build of one model for one time range) executed in
 * dependency order, at most {@code models.max_concurrent_builds} at once, each retried with a doubling
 * backoff and cancelled at its timeout. After a build, the checks of its table run; a failed build or a
 * failing check fails its step, and the steps of the models that read it are skipped as
 * {@code upstream_failed}. Runs come from cron schedules (with catch-up after downtime), from users
 * ({@code watershed run}, {@code watershed backfill}) and from retries of failed runs. Every change is
 * kept in the run history before it takes effect, so the history outlives restarts.
 */
public final class ModelScheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelScheduler.class);
    private static final CronParser CRON = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
    /** Most runs one schedule starts at once when it catches up. */
    static final int MAX_CATCHUP_RUNS = 1000;
    /** Most partitions (and runs) one backfill makes. */
    static final int MAX_BACKFILL_RUNS = 10_000;

    private final Map<String, ModelSpec> models;
    private final List<String> order;
    private final List<CheckSpec> checks;
    private final Settings.Models settings;
    private final ModelBuilder builder;
    private final LakeCatalog lake;
    private final CheckRunner checkRunner;
    private final Clock clock;
    private final RunStore store;
    private final ExecutorService workers;
    private final Object lock = new Object();
    /** Runs not finished, oldest first; guarded by {@link #lock}. */
    private final Map<Long, ActiveRun> active = new LinkedHashMap<>();
    private int inFlight;
    /** Models with a build in flight: one build of a model at a time, each from the table the last one left. */
    private final Set<String> building = new HashSet<>();
    private final Map<String, ScheduleGroup> groups = new TreeMap<>();
    private final Thread coordinator;
    private volatile boolean closed;
    private final Map<String, ModelStats> stats = new java.util.concurrent.ConcurrentHashMap<>();

    /** Per model, since the platform started: builds by outcome, the last successful build. */
    public static final class ModelStats {
        public final java.util.concurrent.atomic.AtomicLong succeeded = new java.util.concurrent.atomic.AtomicLong();
        public final java.util.concurrent.atomic.AtomicLong failed = new java.util.concurrent.atomic.AtomicLong();
        public final java.util.concurrent.atomic.AtomicLong rows = new java.util.concurrent.atomic.AtomicLong();
        /** Epoch seconds of the end of the last successful build, 0 before one. */
        public volatile double lastSuccess;
        public volatile double lastDurationSeconds;
        public volatile int running;
    }

    private record ScheduleGroup(String schedule, ExecutionTime times, List<String> models) {}

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

    /**
     * @param database the run history's SQLite file
     */
    public ModelScheduler(Map<String, ModelSpec> models, List<CheckSpec> checks, Settings.Models settings, ModelBuilder builder,
            QueryEngine query, LakeCatalog lake, Path database, Clock clock) {
        this.models = Map.copyOf(models);
        this.order = dependencyOrder(models);
        models.keySet().forEach(name -> stats.put(name, new ModelStats()));
        this.checks = List.copyOf(checks);
        this.settings = settings;
        this.builder = builder;
        this.lake = lake;
        this.clock = clock;
        this.checkRunner = new CheckRunner(query, clock);
        this.store = new RunStore(database);
        this.workers = Executors.newFixedThreadPool(settings.maxConcurrentBuilds(), r -> {
            Thread t = new Thread(r, "watershed-model-build");
            t.setDaemon(true);
            return t;
        });
        Map<String, List<String>> bySchedule = new TreeMap<>();
        for (String name : order) {
            ModelSpec model = models.get(name);
            model.config().schedule().ifPresent(s -> bySchedule.computeIfAbsent(s, k -> new ArrayList<>()).add(name));
        }
        bySchedule.forEach((schedule, names) -> {
            ModelSpec first = models.get(names.get(0));
            groups.put(schedule, new ScheduleGroup(schedule, ExecutionTime.forCron(CRON.parse(first.config().cron().orElseThrow())),
                    names));
        });
        failUnfinished();
        Instant now = clock.instant();
        for (ScheduleGroup group : groups.values()) {
            if (store.lastFire(group.schedule()).isEmpty()) {
                // the first start with this schedule counts from now: it runs from the next fire time on
                store.setLastFire(group.schedule(), group.times().lastExecution(now.atZone(ZoneOffset.UTC))
                        .map(ZonedDateTime::toInstant).orElse(now));
            }
        }
        this.coordinator = new Thread(this::coordinate, "watershed-scheduler");
        coordinator.setDaemon(true);
        coordinator.start();
    }

    /** Runs the platform stopped in the middle of: their unfinished steps fail, and `watershed runs retry` resumes them. */
    private void failUnfinished() {
        for (Run run : store.unfinished()) {
            Instant now = clock.instant();
            Map<String, String> states = new java.util.HashMap<>();
            for (Step step : run.steps()) {
                Step next = step;
                if (!terminal(step.state())) {
                    Optional<String> failedUpstream = models.containsKey(step.model()) ? models.get(step.model()).upstreamModels()
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

    // ---------------------------------------------------------------- asking for runs

    /**
     * Starts a run of the selected models: names, {@code name+} (with everything downstream), {@code +name}
     * (with everything upstream); none selects every model. Each builds the last complete period of its grain.
     *
     * @throws WatershedException INVALID_INPUT for an unknown model
     */
    public Run run(List<String> selectors) {
        Set<String> selected = select(selectors);
        Instant now = clock.instant();
        List<Step> steps = new ArrayList<>();
        for (String name : order) {
            if (selected.contains(name)) {
                steps.add(lastPeriodStep(models.get(name), now));
            }
        }
        return start("manual", selectors.isEmpty() ? List.of("*") : selectors, now, steps);
    }

    /**
     * Backfills {@code model}: one run per partition from {@code from} to {@code to} (both included), like
     * Airflow's backfill. With {@code downstream}, the models that read it follow in the same runs:
     * an incremental one builds its partitions that the run's partition touches (each once, in the last
     * run that touches it), a full-refresh one is rebuilt once, in the last run.
     *
     * @throws WatershedException INVALID_INPUT for a model that is not incremental or a bad range; UNKNOWN_MODEL
     */
    public List<Run> backfill(String model, LocalDate from, LocalDate to, boolean downstream) {
        ModelSpec spec = model(model);
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
            Set<String> below = downstreamOf(model);
            for (String name : order) {
                if (!below.contains(name)) {
                    continue;
                }
                ModelSpec m = models.get(name);
                if (m.config().materialized() != Materialization.INCREMENTAL) {
                    runs.get(runs.size() - 1).add(lastPeriodStep(m, clock.instant()));
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
        List<Run> started = new ArrayList<>();
        List<ActiveRun> group = new ArrayList<>();
        synchronized (lock) { // all runs and their grouping in place before the coordinator looks at any
            for (int i = 0; i < runs.size(); i++) {
                Run run = start("backfill", selection, partitions.get(i).toInstant(ZoneOffset.UTC), runs.get(i));
                ActiveRun a = active.get(run.id());
                a.group = group;
                a.index = i;
                group.add(a);
                started.add(run);
            }
        }
        return started;
    }

    /**
     * Runs again, in the same run, the steps that failed or were skipped; steps that succeeded stay.
     *
     * @throws WatershedException INVALID_INPUT for an unknown run, CONFLICT for one that has not failed
     */
    public Run retry(long id) {
        synchronized (lock) {
            Run run = store.run(id).orElseThrow(() -> new WatershedException(ErrorCode.UNKNOWN_RUN, "Cannot retry run " + id
                    + ": there is no such run; `watershed runs` lists them"));
            if (!run.state().equals(Runs.FAILED)) {
                throw new WatershedException(ErrorCode.CONFLICT, "Cannot retry run " + id + ": it is " + run.state()
                        + "; only a failed run can be retried");
            }
            for (Step step : run.steps()) {
                if (!models.containsKey(step.model())) {
                    throw new WatershedException(ErrorCode.CONFLICT, "Cannot retry run " + id + ": model '" + step.model()
                            + "' is no longer in the project; start a new run");
                }
            }
            List<Step> steps = new ArrayList<>();
            for (Step step : run.steps()) {
                Step next = step.state().equals(Runs.SUCCESS) ? step : new Step(step.model(), step.start(), step.end(), Runs.QUEUED,
                        0, Optional.empty(), Optional.empty(), OptionalLong.empty(), Optional.empty(), List.of(), Optional.empty());
                if (next != step) {
                    store.updateStep(id, next);
                }
                steps.add(next);
            }
            store.updateRun(id, Runs.QUEUED, run.startedAt(), Optional.empty(), Optional.empty());
            Run queued = new Run(id, run.trigger(), run.selection(), run.logicalTime(), Runs.QUEUED, run.createdAt(), run.startedAt(),
                    Optional.empty(), Optional.empty(), steps);
            active.put(id, new ActiveRun(queued));
            LOG.info("Run {} retried: {} step(s) to run again", id, steps.stream().filter(s -> !s.state().equals(Runs.SUCCESS)).count());
            lock.notifyAll();
            return queued;
        }
    }

    /** Runs the checks now, of one table or of all; nothing is built. */
    public List<CheckResult> test(Optional<String> table) {
        List<CheckSpec> selected = checks.stream().filter(c -> table.isEmpty() || c.table().equals(table.get())).toList();
        if (table.isPresent() && selected.isEmpty()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot test " + table.get() + ": no check names it; checks "
                    + "are declared in checks/*.yaml" + (checks.isEmpty() ? "" : " (tables with checks: "
                    + String.join(", ", new java.util.TreeSet<>(checks.stream().map(CheckSpec::table).toList())) + ")"));
        }
        return checkRunner.run(selected);
    }

    /** The run's log, oldest first (empty for an unknown run). */
    public List<Runs.LogLine> log(long id) {
        return store.log(id);
    }

    public Optional<Run> find(long id) {
        synchronized (lock) {
            ActiveRun run = active.get(id);
            return run != null ? Optional.of(snapshot(run)) : store.run(id);
        }
    }

    /** The newest runs first, of one model when given. */
    public List<Run> runs(Optional<String> model, int limit) {
        model.ifPresent(this::model);
        synchronized (lock) {
            List<Run> runs = new ArrayList<>();
            for (Run run : store.runs(model, limit)) {
                ActiveRun current = active.get(run.id());
                runs.add(current != null ? snapshot(current) : run);
            }
            return runs;
        }
    }

    /** Build counts per model, for metrics. */
    public Map<String, ModelStats> stats() {
        return stats;
    }

    /** The project's models in dependency order (every model after those it reads). */
    public List<ModelSpec> models() {
        return order.stream().map(models::get).toList();
    }

    /** When each schedule fires next, by schedule. */
    public Map<String, Instant> nextFires() {
        Map<String, Instant> next = new TreeMap<>();
        ZonedDateTime now = clock.instant().atZone(ZoneOffset.UTC);
        groups.forEach((name, g) -> g.times().nextExecution(now).ifPresent(t -> next.put(name, t.toInstant())));
        return next;
    }

    public List<CheckSpec> checks() {
        return checks;
    }

    // ---------------------------------------------------------------- executing runs

    private Run start(String trigger, List<String> selection, Instant logicalTime, List<Step> steps) {
        if (closed) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot start a run: the platform is stopping");
        }
        if (steps.isEmpty()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot start a run: it selects no model; the project's models "
                    + "are " + (order.isEmpty() ? "none (files models/<name>.sql)" : String.join(", ", order)));
        }
        synchronized (lock) {
            Run run = store.insert(new Run(0, trigger, selection, logicalTime, Runs.QUEUED, clock.instant(), Optional.empty(),
                    Optional.empty(), Optional.empty(), steps));
            active.put(run.id(), new ActiveRun(run));
            LOG.info("Run {} ({} {}): {} step(s)", run.id(), trigger, String.join(" ", selection), steps.size());
            lock.notifyAll();
            return run;
        }
    }

    private void coordinate() {
        while (!closed) {
            try {
                synchronized (lock) {
                    fireSchedules();
                    long wait = dispatch();
                    if (!closed) {
                        lock.wait(Math.max(1, Math.min(wait, 1000)));
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("The scheduler hit an error; it carries on: {}", e.toString(), e);
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }

    /** Starts a run for each schedule whose fire time has come (each missed one with catch-up, else the latest). */
    private void fireSchedules() {
        Instant now = clock.instant();
        for (ScheduleGroup group : groups.values()) {
            Optional<Instant> last = store.lastFire(group.schedule());
            if (last.isEmpty()) {
                continue; // set at start
            }
            List<Instant> due = new ArrayList<>();
            ZonedDateTime t = last.get().atZone(ZoneOffset.UTC);
            while (true) {
                Optional<ZonedDateTime> next = group.times().nextExecution(t);
                if (next.isEmpty() || next.get().toInstant().isAfter(now)) {
                    break;
                }
                due.add(next.get().toInstant());
                t = next.get();
                if (due.size() > MAX_CATCHUP_RUNS) {
                    due.remove(0);
                }
            }
            if (due.isEmpty()) {
                continue;
            }
            if (due.size() > 1) {
                LOG.info("Schedule '{}' missed {} fire time(s) while the platform was down; incremental models with catchup "
                        + "build each missed period, the others the latest only", group.schedule(), due.size());
            }
            for (int k = 0; k < due.size(); k++) {
                boolean latest = k == due.size() - 1;
                Instant fire = due.get(k);
                Instant previous = k == 0 ? last.get() : due.get(k - 1);
                List<Step> steps = new ArrayList<>();
                for (String name : group.models()) {
                    ModelSpec m = models.get(name);
                    boolean catchesUp = m.config().catchup() && m.config().materialized() == Materialization.INCREMENTAL;
                    if (latest || catchesUp) {
                        steps.addAll(periodSteps(m, catchesUp || due.size() == 1 ? previous : due.get(due.size() - 2), fire));
                    }
                }
                store.setLastFire(group.schedule(), fire);
                if (!steps.isEmpty()) {
                    start("schedule", List.of(group.schedule()), fire, steps);
                }
            }
        }
    }

    /**
     * What a scheduled run builds of a model: a full refresh once; an incremental model every period of its
     * grain that ended between the previous fire and this one (a weekly schedule of a daily model: seven).
     */
    private static List<Step> periodSteps(ModelSpec model, Instant previousFire, Instant fire) {
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

    /** Starts every step that may start; returns how long until a retry is due, in ms. */
    private long dispatch() {
        Instant now = clock.instant();
        long wait = 1000;
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
                if (inFlight >= settings.maxConcurrentBuilds() || closed || building.contains(step.model())) {
                    continue;
                }
                Step started = new Step(step.model(), step.start(), step.end(), Runs.RUNNING, step.attempts() + 1, Optional.of(now),
                        Optional.empty(), OptionalLong.empty(), Optional.empty(), List.of(), Optional.empty());
                set(run, i, started);
                inFlight++;
                building.add(step.model());
                long runId = run.run.id();
                workers.execute(() -> execute(runId, started));
            }
            finishIfDone(run);
        }
        return wait;
    }

    /**
     * Steps of the run whose models the step's model reads; in a backfill, also those of the backfill's earlier
     * runs (a downstream partition, or a full refresh in the last run, reads every partition built before it).
     */
    private List<Step> upstreamSteps(ActiveRun run, Step step) {
        Set<String> upstream = new HashSet<>(models.get(step.model()).upstreamModels());
        List<ActiveRun> scope = run.group == null ? List.of(run) : run.group.subList(0, run.index + 1);
        return scope.stream().flatMap(r -> r.steps.stream()).filter(s -> upstream.contains(s.model())).toList();
    }

    private void finishIfDone(ActiveRun run) {
        if (!run.steps.stream().allMatch(s -> terminal(s.state()))) {
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

    /** Builds one step and runs its table's checks; records the outcome. */
    private void execute(long runId, Step step) {
        ModelSpec model = models.get(step.model());
        String build = "run " + runId + " " + step.model() + " " + step.start();
        ModelStats counters = stats.get(step.model());
        counters.running++;
        Step outcome;
        try {
            BuildResult result = builder.build(model, step.start(), step.end(), build, model.config().timeout());
            // published: what follows never rebuilds it
            try {
                lake.refresh(model.config().namespace(), model.name());
            } catch (RuntimeException e) {
                LOG.warn("Cannot refresh the query view of {} after its build: {}", model.table(), e.toString());
            }
            List<CheckResult> results = checkRunner.run(checks.stream().filter(c -> c.table().equals(model.table())).toList());
            Optional<CheckResult> blocking = results.stream().filter(CheckResult::blocks).findFirst();
            Instant now = clock.instant();
            if (blocking.isPresent()) {
                long count = results.stream().filter(CheckResult::blocks).count();
                outcome = new Step(step.model(), step.start(), step.end(), Runs.FAILED, step.attempts(), step.startedAt(), Optional.of(now),
                        OptionalLong.of(result.rows()), Optional.of(count + " check(s) failed on " + model.table() + ": "
                        + blocking.get().name() + ": " + blocking.get().message() + " (" + blocking.get().location() + ")"), results,
                        Optional.empty());
            } else {
                outcome = new Step(step.model(), step.start(), step.end(), Runs.SUCCESS, step.attempts(), step.startedAt(),
                        Optional.of(now), OptionalLong.of(result.rows()), Optional.empty(), results, Optional.empty());
            }
        } catch (RuntimeException e) {
            Instant now = clock.instant();
            String message = e instanceof WatershedException ? e.getMessage() : e.toString();
            boolean retriable = !(e instanceof WatershedException w) || (w.code() != ErrorCode.INVALID_CONFIG
                    && w.code() != ErrorCode.INVALID_INPUT && w.code() != ErrorCode.QUERY_INVALID);
            if (retriable && step.attempts() <= model.config().retries() && !closed) {
                Duration delay = model.config().retryDelay().multipliedBy(1L << Math.min(20, step.attempts() - 1));
                outcome = new Step(step.model(), step.start(), step.end(), Runs.UP_FOR_RETRY, step.attempts(), step.startedAt(),
                        Optional.of(now), OptionalLong.empty(), Optional.of(message), List.of(), Optional.of(now.plus(delay)));
                LOG.warn("Model '{}' ({}) failed on attempt {}, retrying in {}: {}", step.model(), step.start(), step.attempts(), delay,
                        message);
            } else {
                outcome = new Step(step.model(), step.start(), step.end(), Runs.FAILED, step.attempts(), step.startedAt(),
                        Optional.of(now), OptionalLong.empty(), Optional.of(message), List.of(), Optional.empty());
                LOG.error("Model '{}' ({}) failed: {}", step.model(), step.start(), message);
            }
        } catch (Error e) {
            LOG.error("Model '{}' build hit {}", step.model(), e.toString(), e);
            outcome = new Step(step.model(), step.start(), step.end(), Runs.FAILED, step.attempts(), step.startedAt(),
                    Optional.of(clock.instant()), OptionalLong.empty(), Optional.of(e.toString()), List.of(), Optional.empty());
        }
        counters.running--;
        if (outcome.state().equals(Runs.SUCCESS)) {
            counters.succeeded.incrementAndGet();
            counters.rows.addAndGet(outcome.rows().orElse(0));
            counters.lastSuccess = clock.millis() / 1000.0;
            counters.lastDurationSeconds = Duration.between(step.startedAt().orElse(clock.instant()), clock.instant()).toMillis() / 1000.0;
        } else {
            counters.failed.incrementAndGet();
        }
        synchronized (lock) {
            inFlight--;
            building.remove(step.model());
            ActiveRun run = active.get(runId);
            try {
                if (run != null) {
                    for (int i = 0; i < run.steps.size(); i++) {
                        Step s = run.steps.get(i);
                        if (s.model().equals(step.model()) && s.start().equals(step.start())) {
                            set(run, i, outcome);
                        }
                    }
                }
            } catch (IllegalStateException | io.watershed.spi.WatershedException e) { // the run history closed under it
                if (!closed) {
                    throw e;
                }
                LOG.info("Model '{}' ended as the platform stopped; its run is marked failed at the next start", step.model());
            }
            lock.notifyAll();
        }
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

    private static boolean terminal(String state) {
        return state.equals(Runs.SUCCESS) || state.equals(Runs.FAILED) || state.equals(Runs.UPSTREAM_FAILED);
    }

    // ---------------------------------------------------------------- selection and ranges

    /** The step that builds the model's last complete period before {@code time}. */
    private static Step lastPeriodStep(ModelSpec model, Instant time) {
        LocalDateTime end = model.config().grain().floor(LocalDateTime.ofInstant(time, ZoneOffset.UTC));
        return queued(model.name(), model.config().grain().previous(end), end);
    }

    private static Step queued(String model, LocalDateTime start, LocalDateTime end) {
        return new Step(model, start, end, Runs.QUEUED, 0, Optional.empty(), Optional.empty(), OptionalLong.empty(), Optional.empty(),
                List.of(), Optional.empty());
    }

    /** The models a run of these selectors builds (see {@link #run}); UNKNOWN_MODEL for a name the project lacks. */
    public Set<String> select(Collection<String> selectors) {
        Set<String> selected = new HashSet<>();
        if (selectors.isEmpty()) {
            selected.addAll(models.keySet());
        }
        for (String selector : selectors) {
            boolean down = selector.endsWith("+");
            boolean up = selector.startsWith("+");
            String name = selector.substring(up ? 1 : 0, selector.length() - (down ? 1 : 0));
            model(name);
            selected.add(name);
            if (down) {
                selected.addAll(downstreamOf(name));
            }
            if (up) {
                selected.addAll(upstreamOf(name));
            }
        }
        return selected;
    }

    private ModelSpec model(String name) {
        ModelSpec model = models.get(name);
        if (model == null) {
            throw new WatershedException(ErrorCode.UNKNOWN_MODEL, "Cannot find model '" + name + "': the project has "
                    + (models.isEmpty() ? "no models (files models/<name>.sql)" : String.join(", ", order)));
        }
        return model;
    }

    /** Every model that reads {@code name}, directly or through others. */
    public Set<String> downstreamOf(String name) {
        Set<String> found = new LinkedHashSet<>();
        boolean grew = true;
        while (grew) {
            grew = false;
            for (ModelSpec m : models.values()) {
                if (!found.contains(m.name()) && m.upstreamModels().stream().anyMatch(u -> u.equals(name) || found.contains(u))) {
                    grew = found.add(m.name());
                }
            }
        }
        return found;
    }

    private Set<String> upstreamOf(String name) {
        Set<String> found = new LinkedHashSet<>();
        List<String> todo = new ArrayList<>(models.get(name).upstreamModels());
        while (!todo.isEmpty()) {
            String next = todo.remove(todo.size() - 1);
            if (found.add(next)) {
                todo.addAll(models.get(next).upstreamModels());
            }
        }
        return found;
    }

    /** Model names, each after the models it reads (the project loader has refused cycles). */
    private static List<String> dependencyOrder(Map<String, ModelSpec> models) {
        List<String> order = new ArrayList<>();
        Set<String> placed = new HashSet<>();
        List<String> waiting = new ArrayList<>(new java.util.TreeSet<>(models.keySet()));
        while (!waiting.isEmpty()) {
            boolean progress = false;
            for (java.util.Iterator<String> it = waiting.iterator(); it.hasNext(); ) {
                String name = it.next();
                if (placed.containsAll(models.get(name).upstreamModels())) {
                    order.add(name);
                    placed.add(name);
                    it.remove();
                    progress = true;
                }
            }
            if (!progress) {
                throw new IllegalArgumentException("models in a cycle: " + waiting);
            }
        }
        return order;
    }

    @Override
    public void close() {
        closed = true;
        synchronized (lock) {
            lock.notifyAll();
        }
        coordinator.interrupt();
        try {
            coordinator.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        workers.shutdown();
        try {
            // builds in flight are cancelled by the builder's own close; wait for their steps to be recorded
            if (!workers.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.warn("Model builds still running at shutdown; their runs are marked failed at the next start");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.close();
    }
}
