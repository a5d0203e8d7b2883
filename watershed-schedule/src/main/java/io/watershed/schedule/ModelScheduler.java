package io.watershed.schedule;

import io.watershed.schedule.Runs.CheckResult;
import io.watershed.schedule.Runs.Run;
import io.watershed.schedule.Runs.Step;
import io.watershed.spi.CheckSpec;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.ModelBuilder;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.Settings;
import io.watershed.spi.WatershedException;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
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
 *
 * <p>This class composes the pieces and owns the threads (a coordinator, the build workers) and the lock:
 * {@link ModelGraph} (selection, dependency order), {@link RunPlanner} (the steps of a run or a backfill),
 * {@link ScheduleFires} (cron fires and catch-up), {@link ActiveRuns} (which step may start, run outcomes),
 * {@link StepExecution} (one build, its checks and its retry), {@link InterruptedRuns} (recovery at start)
 * and {@link RunStore} (the history). None of them calls back into another.
 */
public final class ModelScheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelScheduler.class);

    private final ModelGraph graph;
    private final RunPlanner planner;
    private final List<CheckSpec> checks;
    private final CheckRunner checkRunner;
    private final Clock clock;
    private final RunStore store;
    private final ScheduleFires schedules;
    private final StepExecution execution;
    private final ExecutorService workers;
    private final Object lock = new Object();
    private final io.watershed.spi.Leases leases;
    /** Guarded by {@link #lock}. */
    private final ActiveRuns active;
    private final Thread coordinator;
    private volatile boolean closed;
    private final Map<String, ModelStats> stats = new ConcurrentHashMap<>();

    /**
     * @param database where the run history is kept (SQLite in the data directory, or PostgreSQL)
     * @param leases the schedules fire on the one instance that holds lease {@value #LEASE}; runs asked for fire anywhere
     */
    public ModelScheduler(Map<String, ModelSpec> models, List<CheckSpec> checks, Settings.Models settings, ModelBuilder builder,
            QueryEngine query, LakeCatalog lake, io.watershed.spi.StateDatabase database, io.watershed.spi.Leases leases,
            Clock clock) {
        this.leases = leases;
        this.graph = new ModelGraph(models);
        this.planner = new RunPlanner(graph);
        models.keySet().forEach(name -> stats.put(name, new ModelStats()));
        this.checks = List.copyOf(checks);
        this.clock = clock;
        this.checkRunner = new CheckRunner(query, clock);
        this.store = new RunStore(database);
        this.active = new ActiveRuns(graph, store, clock, settings.maxConcurrentBuilds());
        this.execution = new StepExecution(graph, this.checks, builder, lake, checkRunner, clock, stats, () -> closed);
        this.workers = Executors.newFixedThreadPool(settings.maxConcurrentBuilds(), r -> {
            Thread t = new Thread(r, "watershed-model-build");
            t.setDaemon(true);
            return t;
        });
        this.schedules = new ScheduleFires(graph, store, clock.instant());
        this.coordinator = new Thread(this::coordinate, "watershed-scheduler");
        coordinator.setDaemon(true);
        coordinator.start();
        leases.claim(LEASE, new io.watershed.spi.Leases.Work() {
            @Override
            public void acquired(long epoch) {
                // the holder before this one (this instance before a restart, or one that died) left its runs unfinished
                synchronized (lock) {
                    failInterrupted();
                    lock.notifyAll();
                }
            }

            @Override
            public void lost() {
                // schedules stop firing here; runs under way finish
            }
        });
    }

    /** The lease of the model scheduler: its holder fires the schedules and recovers interrupted runs. */
    public static final String LEASE = "models";
    /** How often the holder of {@value #LEASE} looks for runs an instance that died left unfinished. */
    private static final long RECOVERY_MILLIS = 15_000;

    /**
     * Fails the unfinished runs no one is building: not this instance's own, nor those of another instance that runs
     * (runs asked for start wherever they are asked). Called with {@link #lock} held.
     */
    private void failInterrupted() {
        InterruptedRuns.fail(store, graph, clock, id -> active.find(id).isPresent() || store.instanceOf(id)
                .filter(by -> !by.equals(leases.instance()) && leases.alive(by)).isPresent());
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
        return start("manual", selectors.isEmpty() ? List.of("*") : selectors, now, planner.run(selected, now));
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
        RunPlanner.Backfill plan = planner.backfill(model, from, to, downstream, clock.instant());
        List<Run> started = new ArrayList<>();
        synchronized (lock) { // all runs and their grouping in place before the coordinator looks at any
            try {
                for (int i = 0; i < plan.runs().size(); i++) {
                    started.add(insert("backfill", plan.selection(), plan.partitions().get(i).toInstant(ZoneOffset.UTC),
                            plan.runs().get(i)));
                }
            } finally {
                active.addBackfill(started);
                lock.notifyAll();
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
                if (!graph.contains(step.model())) {
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
            active.add(queued);
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
                    + String.join(", ", new TreeSet<>(checks.stream().map(CheckSpec::table).toList())) + ")"));
        }
        return checkRunner.run(selected);
    }

    // ---------------------------------------------------------------- reading

    /** The run's log, oldest first (empty for an unknown run). */
    public List<Runs.LogLine> log(long id) {
        return store.log(id);
    }

    public Optional<Run> find(long id) {
        synchronized (lock) {
            Optional<Run> current = active.find(id);
            return current.isPresent() ? current : store.run(id);
        }
    }

    /** The newest runs first, of one model when given. */
    public List<Run> runs(Optional<String> model, int limit) {
        model.ifPresent(graph::model);
        synchronized (lock) {
            List<Run> runs = new ArrayList<>();
            for (Run run : store.runs(model, limit)) {
                runs.add(active.find(run.id()).orElse(run));
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
        return graph.order().stream().map(graph::get).toList();
    }

    /** When each schedule fires next, by schedule. */
    public Map<String, Instant> nextFires() {
        return schedules.nextFires(clock.instant());
    }

    public List<CheckSpec> checks() {
        return checks;
    }

    /** The models a run of these selectors builds (see {@link #run}); UNKNOWN_MODEL for a name the project lacks. */
    public Set<String> select(Collection<String> selectors) {
        return graph.select(selectors);
    }

    /** Every model that reads {@code name}, directly or through others. */
    public Set<String> downstreamOf(String name) {
        return graph.downstreamOf(name);
    }

    // ---------------------------------------------------------------- executing runs

    private Run start(String trigger, List<String> selection, Instant logicalTime, List<Step> steps) {
        synchronized (lock) {
            Run run = insert(trigger, selection, logicalTime, steps);
            active.add(run);
            lock.notifyAll();
            return run;
        }
    }

    /** Keeps a new run in the history, queued; the caller adds it to the active runs. */
    private Run insert(String trigger, List<String> selection, Instant logicalTime, List<Step> steps) {
        if (closed) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot start a run: the platform is stopping");
        }
        if (steps.isEmpty()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot start a run: it selects no model; the project's models "
                    + "are " + (graph.order().isEmpty() ? "none (files models/<name>.sql)" : String.join(", ", graph.order())));
        }
        Run run = store.insert(new Run(0, trigger, selection, logicalTime, Runs.QUEUED, clock.instant(), Optional.empty(),
                Optional.empty(), Optional.empty(), steps));
        LOG.info("Run {} ({} {}): {} step(s)", run.id(), trigger, String.join(" ", selection), steps.size());
        return run;
    }

    private void coordinate() {
        long nextRecovery = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RECOVERY_MILLIS);
        while (!closed) {
            try {
                synchronized (lock) {
                    if (System.nanoTime() - nextRecovery > 0) {
                        nextRecovery = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RECOVERY_MILLIS);
                        if (leases.holds(LEASE)) {
                            failInterrupted(); // an instance that died while building
                        }
                    }
                    for (ScheduleFires.Fire fire : leases.holds(LEASE) ? schedules.due(clock.instant()) : List.<ScheduleFires.Fire>of()) {
                        store.setLastFire(fire.schedule(), fire.time());
                        if (!fire.steps().isEmpty()) {
                            start("schedule", List.of(fire.schedule()), fire.time(), fire.steps());
                        }
                    }
                    ActiveRuns.Dispatch dispatch = active.dispatch(closed);
                    for (ActiveRuns.Started started : dispatch.started()) {
                        workers.execute(() -> execute(started));
                    }
                    if (!closed) {
                        lock.wait(Math.max(1, Math.min(dispatch.waitMillis(), 1000)));
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

    /** On a build worker: executes the step, then records how it ended. */
    private void execute(ActiveRuns.Started started) {
        Step outcome = execution.execute(started.runId(), started.step());
        synchronized (lock) {
            try {
                active.finished(started.runId(), started.step(), outcome);
            } catch (IllegalStateException | WatershedException e) { // the run history closed under it
                if (!closed) {
                    throw e;
                }
                LOG.info("Model '{}' ended as the platform stopped; its run is marked failed at the next start", started.step().model());
            }
            lock.notifyAll();
        }
    }

    @Override
    public void close() {
        closed = true;
        leases.release(LEASE); // another instance fires the schedules from now on
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
