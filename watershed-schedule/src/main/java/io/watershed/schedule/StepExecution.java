package io.watershed.schedule;

import io.watershed.schedule.Runs.CheckResult;
import io.watershed.schedule.Runs.Step;
import io.watershed.spi.CheckSpec;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.ModelBuilder;
import io.watershed.spi.ModelBuilder.BuildResult;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.WatershedException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes one step: builds the model for the step's range (cancelled at the model's timeout), refreshes its
 * query view, runs the checks of its table, and says how the step ended — success, failed (a failed build or a
 * blocking check), or up for retry with a doubling backoff while the model has retries left and the error may
 * pass (not invalid config, input or query). Counts the outcome in the model's {@link ModelStats}. Runs on a
 * build worker; it does not touch the run's state, the caller records the outcome.
 */
final class StepExecution {
    private static final Logger LOG = LoggerFactory.getLogger(StepExecution.class);

    private final ModelGraph graph;
    private final List<CheckSpec> checks;
    private final ModelBuilder builder;
    private final LakeCatalog lake;
    private final CheckRunner checkRunner;
    private final Clock clock;
    private final Map<String, ModelStats> stats;
    private final BooleanSupplier stopping;

    /**
     * @param stats per model, every model of the graph
     * @param stopping whether the platform is stopping: a failure then is final, not retried
     */
    StepExecution(ModelGraph graph, List<CheckSpec> checks, ModelBuilder builder, LakeCatalog lake, CheckRunner checkRunner,
            Clock clock, Map<String, ModelStats> stats, BooleanSupplier stopping) {
        this.graph = graph;
        this.checks = checks;
        this.builder = builder;
        this.lake = lake;
        this.checkRunner = checkRunner;
        this.clock = clock;
        this.stats = stats;
        this.stopping = stopping;
    }

    /** Builds the running {@code step} of run {@code runId} and runs its table's checks; returns the step as it ended. */
    Step execute(long runId, Step step) {
        ModelSpec model = graph.get(step.model());
        String build = "run " + runId + " " + step.model() + " " + step.start();
        ModelStats counters = stats.get(step.model());
        counters.running.incrementAndGet();
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
            outcome = failed(model, step, e);
        } catch (Error e) {
            LOG.error("Model '{}' build hit {}", step.model(), e.toString(), e);
            outcome = new Step(step.model(), step.start(), step.end(), Runs.FAILED, step.attempts(), step.startedAt(),
                    Optional.of(clock.instant()), OptionalLong.empty(), Optional.of(e.toString()), List.of(), Optional.empty());
        }
        counters.running.decrementAndGet();
        if (outcome.state().equals(Runs.SUCCESS)) {
            counters.succeeded.incrementAndGet();
            counters.rows.addAndGet(outcome.rows().orElse(0));
            counters.lastSuccess = clock.millis() / 1000.0;
            counters.lastDurationSeconds = Duration.between(step.startedAt().orElse(clock.instant()), clock.instant()).toMillis() / 1000.0;
        } else {
            counters.failed.incrementAndGet();
        }
        return outcome;
    }

    /** A failed build: up for retry after a doubling delay when it may pass and retries are left, else failed. */
    private Step failed(ModelSpec model, Step step, RuntimeException e) {
        Instant now = clock.instant();
        String message = e instanceof WatershedException ? e.getMessage() : e.toString();
        boolean retriable = !(e instanceof WatershedException w) || (w.code() != ErrorCode.INVALID_CONFIG
                && w.code() != ErrorCode.INVALID_INPUT && w.code() != ErrorCode.QUERY_INVALID);
        if (retriable && step.attempts() <= model.config().retries() && !stopping.getAsBoolean()) {
            Duration delay = model.config().retryDelay().multipliedBy(1L << Math.min(20, step.attempts() - 1));
            LOG.warn("Model '{}' ({}) failed on attempt {}, retrying in {}: {}", step.model(), step.start(), step.attempts(), delay,
                    message);
            return new Step(step.model(), step.start(), step.end(), Runs.UP_FOR_RETRY, step.attempts(), step.startedAt(),
                    Optional.of(now), OptionalLong.empty(), Optional.of(message), List.of(), Optional.of(now.plus(delay)));
        }
        LOG.error("Model '{}' ({}) failed: {}", step.model(), step.start(), message);
        return new Step(step.model(), step.start(), step.end(), Runs.FAILED, step.attempts(), step.startedAt(),
                Optional.of(now), OptionalLong.empty(), Optional.of(message), List.of(), Optional.empty());
    }
}
