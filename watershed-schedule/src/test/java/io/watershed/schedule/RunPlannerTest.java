package io.watershed.schedule;

import static io.watershed.schedule.ModelSchedulerTest.model;
import static io.watershed.schedule.ModelSchedulerTest.models;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.schedule.Runs.Step;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What runs are planned to build, without running them. */
class RunPlannerTest {
    private static final Instant NOW = Instant.parse("2026-11-22T10:30:00Z");
    private final RunPlanner planner = new RunPlanner(new ModelGraph(models(model("a", null, false, 0),
            model("b", null, false, 0, "a"))));

    @Test
    void aManualRunBuildsTheLastCompletePeriodOfEachSelectedModelInDependencyOrder() {
        List<Step> steps = planner.run(Set.of("b", "a"), NOW);
        assertThat(steps).extracting(Step::model).containsExactly("a", "b");
        assertThat(steps).extracting(Step::start).containsOnly(LocalDateTime.parse("2026-11-21T00:00"));
        assertThat(steps).extracting(Step::state).containsOnly(Runs.QUEUED);
    }

    @Test
    void aBackfillIsOneRunPerPartitionWithTheDownstreamPartitionsItTouches() {
        RunPlanner.Backfill plan = planner.backfill("a", LocalDate.parse("2026-11-01"), LocalDate.parse("2026-11-03"), true, NOW);
        assertThat(plan.partitions()).hasSize(3);
        assertThat(plan.runs()).allSatisfy(steps -> assertThat(steps).extracting(Step::model).containsExactly("a", "b"));
        assertThat(plan.runs().get(2)).extracting(Step::start).containsOnly(LocalDateTime.parse("2026-11-03T00:00"));
        assertThat(plan.selection()).containsExactly("a+", "--from", "2026-11-01", "--to", "2026-11-03");
        assertThatThrownBy(() -> planner.backfill("a", LocalDate.parse("2026-11-03"), LocalDate.parse("2026-11-01"), false, NOW))
                .hasMessage("Cannot backfill model 'a': --to 2026-11-01 is before --from 2026-11-03");
    }
}
