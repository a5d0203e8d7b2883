package io.watershed.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.schedule.Runs.Run;
import io.watershed.schedule.Runs.Step;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.ModelBuilder;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.Settings;
import io.watershed.spi.WatershedException;
import io.watershed.testing.MovableClock;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scheduler's own logic — order, concurrency, retries, schedules, catch-up, history — with a stand-in
 * for the model builder (the real one, on Flink and Iceberg, is exercised by ModelsIT).
 */
class ModelSchedulerTest {
    @TempDir
    Path dir;

    /** Records builds; fails the ones {@code failures} says to, as many times as it says. */
    static final class RecordingBuilder implements ModelBuilder {
        final List<String> events = Collections.synchronizedList(new ArrayList<>());
        final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
        final Map<String, ErrorCode> failureCodes = new ConcurrentHashMap<>();
        final AtomicInteger concurrent = new AtomicInteger();
        final AtomicInteger maxConcurrent = new AtomicInteger();
        final Map<String, AtomicInteger> perModel = new ConcurrentHashMap<>();
        final AtomicInteger maxPerModel = new AtomicInteger();

        @Override
        public BuildResult build(ModelSpec model, LocalDateTime start, LocalDateTime end, String build, Duration timeout) {
            maxConcurrent.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
            AtomicInteger same = perModel.computeIfAbsent(model.name(), k -> new AtomicInteger());
            maxPerModel.accumulateAndGet(same.incrementAndGet(), Math::max);
            try {
                events.add("start " + model.name() + " " + start.toLocalDate());
                Thread.sleep(50); // a build takes a while, so that overlapping builds would be seen
                AtomicInteger left = failures.get(model.name());
                if (left != null && left.getAndDecrement() > 0) {
                    throw new WatershedException(failureCodes.getOrDefault(model.name(), ErrorCode.INTERNAL), "boom in " + model.name());
                }
                events.add("end " + model.name());
                return new BuildResult(7, 1, 1, 50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new WatershedException(ErrorCode.UNAVAILABLE, "interrupted");
            } finally {
                same.decrementAndGet();
                concurrent.decrementAndGet();
            }
        }
    }

    static final LakeCatalog LAKE = new LakeCatalog() {
        @Override
        public List<LakeTableView> tables() {
            return List.of();
        }

        @Override
        public Path warehouse() {
            return Path.of(".");
        }
    };

    static final QueryEngine NO_QUERIES = new QueryEngine() {
        @Override
        public QueryResult query(String sql, int maxRows, io.watershed.spi.ReadScope scope) {
            throw new AssertionError("no checks in these tests: " + sql);
        }

        @Override
        public void close() {}
    };

    static ModelSpec model(String name, String schedule, boolean catchup, int retries, String... upstream) {
        return model(name, schedule, "0 0 * * *", catchup, retries, upstream);
    }

    static ModelSpec model(String name, String schedule, String cron, boolean catchup, int retries, String... upstream) {
        List<ModelSpec.TableRef> refs = new ArrayList<>();
        for (String u : upstream) {
            refs.add(new ModelSpec.TableRef("models", u, true, 1, 15));
        }
        return new ModelSpec(name, Path.of("models", name + ".sql"), "SELECT 1", new ModelSpec.Config("models",
                ModelSpec.Materialization.INCREMENTAL, Optional.of("day"), ModelSpec.Grain.DAY, Optional.ofNullable(schedule),
                Optional.ofNullable(schedule).map(s -> cron), catchup, retries, Duration.ofMillis(100), Duration.ofMinutes(1),
                Optional.empty()), refs);
    }

    static Map<String, ModelSpec> models(ModelSpec... specs) {
        Map<String, ModelSpec> map = new TreeMap<>();
        for (ModelSpec m : specs) {
            map.put(m.name(), m);
        }
        return map;
    }

    ModelScheduler scheduler(Map<String, ModelSpec> models, ModelBuilder builder, int concurrency, Clock clock, String db) {
        io.watershed.spi.StateDatabase database = io.watershed.spi.StateDatabase.local(dir.resolve(db));
        return new ModelScheduler(models, List.of(), new Settings.Models(concurrency, Duration.ofMinutes(1), 0,
                Duration.ofMillis(100), false, "models"), builder, NO_QUERIES, LAKE, database, database.leases(), clock);
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    static Run finished(ModelScheduler scheduler, long id) throws InterruptedException {
        await("run " + id + " to finish", () -> Set.of("success", "failed").contains(scheduler.find(id).orElseThrow().state()));
        return scheduler.find(id).orElseThrow();
    }

    @Test
    void buildsInDependencyOrderWithinTheConcurrencyLimitAndRetriesWithBackoff() throws Exception {
        RecordingBuilder builder = new RecordingBuilder();
        builder.failures.put("b", new AtomicInteger(1)); // b fails once, then succeeds on its retry
        Map<String, ModelSpec> models = models(model("a", null, false, 0), model("b", null, false, 1, "a"),
                model("c", null, false, 0, "b"), model("x", null, false, 0));
        try (ModelScheduler scheduler = scheduler(models, builder, 2, Clock.systemUTC(), "runs.db")) {
            Run run = finished(scheduler, scheduler.run(List.of()).id());
            assertThat(run.state()).isEqualTo("success");
            assertThat(run.steps()).extracting(Step::model).containsExactly("a", "b", "c", "x");
            Step b = run.steps().get(1);
            assertThat(b.attempts()).isEqualTo(2);
            List<String> events = List.copyOf(builder.events);
            assertThat(events.indexOf("end a")).isLessThan(events.indexOf("start b " + b.start().toLocalDate()));
            assertThat(events.lastIndexOf("start b " + b.start().toLocalDate())).isGreaterThan(events.indexOf("end a"));
            assertThat(events.indexOf("end b")).isLessThan(events.indexOf("start c " + b.start().toLocalDate()));
            assertThat(builder.maxConcurrent.get()).isLessThanOrEqualTo(2);

            // a mistake in a model is not retried, and what reads it is skipped with the reason
            builder.failures.put("a", new AtomicInteger(5));
            builder.failureCodes.put("a", ErrorCode.INVALID_CONFIG);
            Run failed = finished(scheduler, scheduler.run(List.of("a+")).id());
            assertThat(failed.state()).isEqualTo("failed");
            assertThat(failed.error()).hasValueSatisfying(e -> assertThat(e).contains("model 'a' failed: boom in a"));
            assertThat(failed.steps()).extracting(Step::model, Step::state, Step::attempts).containsExactly(
                    org.assertj.core.groups.Tuple.tuple("a", "failed", 1),
                    org.assertj.core.groups.Tuple.tuple("b", "upstream_failed", 0),
                    org.assertj.core.groups.Tuple.tuple("c", "upstream_failed", 0));
            assertThat(failed.steps().get(2).error()).contains("skipped: model 'b', which it reads, was skipped");

            // retry runs again what failed, in the same run
            builder.failures.remove("a");
            Run retried = scheduler.retry(failed.id());
            assertThat(retried.id()).isEqualTo(failed.id());
            assertThat(finished(scheduler, failed.id()).state()).isEqualTo("success");
            assertThatThrownBy(() -> scheduler.retry(failed.id())).hasMessageContaining("only a failed run can be retried");
            assertThatThrownBy(() -> scheduler.run(List.of("nope"))).hasMessageContaining("Cannot find model 'nope'");
        }
    }

    @Test
    void backfillBuildsOnePartitionAtATimePerModelAndDownstreamFollows() throws Exception {
        RecordingBuilder builder = new RecordingBuilder();
        Map<String, ModelSpec> models = models(model("a", null, false, 0), model("b", null, false, 0, "a"));
        try (ModelScheduler scheduler = scheduler(models, builder, 4, Clock.systemUTC(), "runs.db")) {
            List<Run> runs = scheduler.backfill("a", LocalDate.parse("2026-11-01"), LocalDate.parse("2026-11-03"), true);
            List<String> built = new ArrayList<>();
            for (Run started : runs) {
                Run run = finished(scheduler, started.id());
                assertThat(run.state()).isEqualTo("success");
                assertThat(run.trigger()).isEqualTo("backfill");
                assertThat(run.logicalTime()).isEqualTo(run.steps().get(0).start().toInstant(ZoneOffset.UTC));
                built.add(run.steps().stream().map(s -> s.model() + " " + s.start().toLocalDate()).toList().toString());
            }
            // one run per partition, the model that reads it following in each
            assertThat(built).containsExactly("[a 2026-11-01, b 2026-11-01]", "[a 2026-11-02, b 2026-11-02]",
                    "[a 2026-11-03, b 2026-11-03]");
            // four builds may run at once, but never two of the same model
            assertThat(builder.maxPerModel.get()).isEqualTo(1);
            assertThatThrownBy(() -> scheduler.backfill("a", LocalDate.parse("2026-11-03"), LocalDate.parse("2026-11-01"), false))
                    .hasMessageContaining("--to 2026-11-01 is before --from 2026-11-03");
        }
    }

    @Test
    void schedulesFireAtTheirCronTimesAndCatchUpAfterDowntimeWhenAskedTo() throws Exception {
        Instant start = Instant.parse("2026-11-22T00:30:00Z");
        for (boolean catchup : List.of(false, true)) {
            RecordingBuilder builder = new RecordingBuilder();
            MovableClock clock = new MovableClock(start);
            Map<String, ModelSpec> models = models(model("daily", "@daily", catchup, 0));
            String db = "runs-" + catchup + ".db";
            try (ModelScheduler scheduler = scheduler(models, builder, 1, clock, db)) {
                assertThat(scheduler.nextFires()).containsEntry("@daily", Instant.parse("2026-11-23T00:00:00Z"));
                // the first start counts from now: nothing runs for periods before it
                clock.set(Instant.parse("2026-11-23T00:00:01Z"));
                await("the fire of 23 November", () -> !scheduler.runs(Optional.empty(), 10).isEmpty());
                Run run = finished(scheduler, scheduler.runs(Optional.empty(), 10).get(0).id());
                assertThat(run.trigger()).isEqualTo("schedule");
                assertThat(run.logicalTime()).isEqualTo(Instant.parse("2026-11-23T00:00:00Z"));
                // the run builds the day that just ended
                assertThat(run.steps().get(0).start()).isEqualTo(LocalDateTime.parse("2026-11-22T00:00"));
                assertThat(scheduler.runs(Optional.empty(), 10)).hasSize(1);
            }
            // three days down
            clock.set(Instant.parse("2026-11-26T09:00:00Z"));
            try (ModelScheduler scheduler = scheduler(models, builder, 1, clock, db)) {
                int expected = catchup ? 1 + 3 : 1 + 1;
                await(expected + " runs", () -> scheduler.runs(Optional.empty(), 10).size() == expected);
                List<Run> runs = scheduler.runs(Optional.empty(), 10);
                for (Run run : runs) {
                    finished(scheduler, run.id());
                }
                List<LocalDateTime> built = runs.stream().map(r -> scheduler.find(r.id()).orElseThrow().steps().get(0).start())
                        .sorted().toList();
                assertThat(built).isEqualTo(catchup
                        ? List.of(LocalDateTime.parse("2026-11-22T00:00"), LocalDateTime.parse("2026-11-23T00:00"),
                                LocalDateTime.parse("2026-11-24T00:00"), LocalDateTime.parse("2026-11-25T00:00"))
                        : List.of(LocalDateTime.parse("2026-11-22T00:00"), LocalDateTime.parse("2026-11-25T00:00")));
            }
        }
    }

    @Test
    void aWeeklyScheduleOfADailyModelBuildsTheSevenDaysOfTheWeek() throws Exception {
        MovableClock clock = new MovableClock(Instant.parse("2026-11-22T00:30:00Z")); // a Sunday
        Map<String, ModelSpec> models = models(model("daily", "@weekly", "0 0 * * 0", false, 0));
        try (ModelScheduler scheduler = scheduler(models, new RecordingBuilder(), 1, clock, "runs.db")) {
            clock.set(Instant.parse("2026-11-29T00:00:01Z"));
            await("the weekly fire", () -> !scheduler.runs(Optional.empty(), 10).isEmpty());
            Run run = finished(scheduler, scheduler.runs(Optional.empty(), 10).get(0).id());
            assertThat(run.steps()).extracting(s -> s.start().toLocalDate().toString()).containsExactly("2026-11-22", "2026-11-23",
                    "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28");
        }
    }

    @Test
    void aRunTheProcessDiedInIsFailedAtTheNextStartAndCanBeRetried() throws Exception {
        Map<String, ModelSpec> models = models(model("a", null, false, 0), model("b", null, false, 0, "a"));
        long id;
        try (RunStore store = new RunStore(io.watershed.spi.StateDatabase.local(dir.resolve("runs.db")))) {
            Instant now = Instant.now();
            LocalDateTime day = LocalDateTime.parse("2026-11-21T00:00");
            Step done = new Step("a", day, day.plusDays(1), "success", 1, Optional.of(now), Optional.of(now), OptionalLong.of(3),
                    Optional.empty(), List.of(), Optional.empty());
            Step building = new Step("b", day, day.plusDays(1), "running", 1, Optional.of(now), Optional.empty(), OptionalLong.empty(),
                    Optional.empty(), List.of(), Optional.empty());
            Run run = store.insert(new Run(0, "manual", List.of("a+"), now, "running", now, Optional.of(now), Optional.empty(),
                    Optional.empty(), List.of(done, building)));
            store.updateStep(run.id(), done);
            store.updateStep(run.id(), building);
            id = run.id();
        }
        RecordingBuilder builder = new RecordingBuilder();
        try (ModelScheduler scheduler = scheduler(models, builder, 2, Clock.systemUTC(), "runs.db")) {
            Run interrupted = scheduler.find(id).orElseThrow();
            assertThat(interrupted.state()).isEqualTo("failed");
            assertThat(interrupted.error()).hasValueSatisfying(e -> assertThat(e).contains("watershed runs retry " + id));
            assertThat(interrupted.steps().get(1).error()).hasValueSatisfying(e -> assertThat(e).contains("the platform stopped"));
            scheduler.retry(id);
            Run retried = finished(scheduler, id);
            assertThat(retried.state()).isEqualTo("success");
            assertThat(builder.events).containsExactly("start b 2026-11-21", "end b"); // a had succeeded: it is not built again
        }
    }

    /** A run of a process that died, as another instance of the project named {@code instance} left it: running. */
    static long runningRunOf(io.watershed.spi.StateDatabase database) {
        try (RunStore store = new RunStore(database)) {
            Instant now = Instant.now();
            LocalDateTime day = LocalDateTime.parse("2026-11-21T00:00");
            Step building = new Step("a", day, day.plusDays(1), "running", 1, Optional.of(now), Optional.empty(), OptionalLong.empty(),
                    Optional.empty(), List.of(), Optional.empty());
            Run run = store.insert(new Run(0, "manual", List.of("a"), now, "running", now, Optional.of(now), Optional.empty(),
                    Optional.empty(), List.of(building)));
            store.updateStep(run.id(), building);
            return run.id();
        }
    }

    static io.watershed.spi.StateDatabase instance(java.nio.file.Path directory, String name) {
        return io.watershed.spi.StateDatabase.of(new io.watershed.spi.Settings.Metadata(Optional.empty(), Optional.empty(),
                io.watershed.spi.Secret.of(""), "watershed", Optional.of(name), Duration.ofMillis(1500)), directory);
    }

    @Test
    void theNewSchedulerFailsOnlyTheRunsOfInstancesThatAreGone() throws Exception {
        Map<String, ModelSpec> models = models(model("a", null, false, 0));
        java.nio.file.Path shared = dir.resolve("runs.db"); // as a shared database: one set of files, three instance names
        io.watershed.spi.StateDatabase other = instance(shared, "other");
        io.watershed.spi.Leases otherRuns = other.leases(); // the other instance runs: its presence is held
        long building = runningRunOf(other);
        long orphan = runningRunOf(instance(shared, "gone")); // an instance that died and never came back
        try (ModelScheduler scheduler = scheduler(models, new RecordingBuilder(), 2, Clock.systemUTC(), "runs.db")) {
            assertThat(scheduler.find(orphan).orElseThrow().state()).isEqualTo("failed");
            assertThat(scheduler.find(building).orElseThrow().state()).as("another live instance builds it").isEqualTo("running");
            otherRuns.close(); // it stops without finishing the run: the scheduler's next look fails it
            await("the stopped instance's run failed", () -> scheduler.find(building).orElseThrow().state().equals("failed"));
        } finally {
            otherRuns.close();
        }
    }
}
