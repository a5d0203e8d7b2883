package io.watershed.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.schedule.Runs.Run;
import io.watershed.schedule.Runs.Step;
import io.watershed.spi.Secret;
import io.watershed.spi.Settings;
import io.watershed.spi.StateDatabase;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run history in a real PostgreSQL ({@code metadata.url}): what one instance stores, another reads. */
class RunStorePostgresTest {
    @TempDir
    Path dir;

    @Test
    void runsStepsLogAndScheduleFiresAreSharedThroughPostgres() throws Exception {
        try (EmbeddedPostgres postgres = EmbeddedPostgres.builder().start()) {
            StateDatabase database = StateDatabase.of(Settings.Metadata.postgres(postgres.getJdbcUrl("postgres", "postgres"),
                    "postgres", Secret.of(""), "watershed"), dir);
            Instant now = Instant.parse("2026-12-07T05:00:00Z");
            LocalDateTime day = LocalDateTime.parse("2026-12-06T00:00");
            long first;
            try (RunStore one = new RunStore(database); RunStore other = new RunStore(database)) {
                Step step = new Step("daily", day, day.plusDays(1), "pending", 0, Optional.empty(), Optional.empty(), OptionalLong.empty(),
                        Optional.empty(), List.of(), Optional.empty());
                Run run = one.insert(new Run(0, "manual", List.of("daily"), now, "queued", now, Optional.empty(), Optional.empty(),
                        Optional.empty(), List.of(step)));
                first = run.id();
                Run second = one.insert(new Run(0, "schedule", List.of("daily"), now, "queued", now, Optional.empty(), Optional.empty(),
                        Optional.empty(), List.of(step)));
                assertThat(second.id()).as("numbered by PostgreSQL").isGreaterThan(first);
                one.updateStep(first, new Step("daily", day, day.plusDays(1), "success", 1, Optional.of(now), Optional.of(now),
                        OptionalLong.of(5_000_000_000L), Optional.empty(), List.of(), Optional.empty()));
                one.setLastFire("nightly", now);
                one.setLastFire("nightly", now.plusSeconds(86_400));

                Run read = other.run(first).orElseThrow();
                assertThat(read.steps()).singleElement().satisfies(s -> {
                    assertThat(s.state()).isEqualTo("success");
                    assertThat(s.rows()).as("more rows than an int holds").hasValue(5_000_000_000L);
                });
                assertThat(other.log(first)).extracting(Runs.LogLine::message).first().asString().startsWith("Run " + first + " created");
                assertThat(other.lastFire("nightly")).contains(now.plusSeconds(86_400));
                assertThat(other.runs(Optional.of("daily"), 10)).extracting(Run::id).contains(first, second.id());
            }
        }
    }
}
