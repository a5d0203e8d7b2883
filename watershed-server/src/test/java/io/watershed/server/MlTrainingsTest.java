package io.watershed.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.Leases;
import io.watershed.spi.MlSpec;
import io.watershed.spi.StateDatabase;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scheduled trainings: each model with a schedule trains at its fire times, once per fire, without catch-up. */
class MlTrainingsTest {
    @TempDir
    Path data;

    private static MlSpec model(String name, Optional<String> cron) {
        return new MlSpec(name, Path.of("ml/" + name + ".yaml"), "SELECT 1 AS y", List.of(), "y", List.of(), MlSpec.Objective.REGRESSION,
                "lightgbm", Map.of(), MlSpec.Split.DEFAULT, List.of("rmse"), List.of(), cron, cron, Optional.empty(),
                MlSpec.DEFAULT_MAX_ROWS, "ml/" + name + ".yaml:1:1");
    }

    @Test
    void trainsEachScheduledModelOncePerFireWithoutCatchingUp() throws Exception {
        Instant start = Instant.parse("2026-12-07T10:02:00Z");
        List<String> trained = new CopyOnWriteArrayList<>();
        try (Leases leases = StateDatabase.local(data).leases();
                MlTrainings trainings = new MlTrainings(List.of(model("price", Optional.of("*/5 * * * *")), model("adhoc",
                        Optional.empty()), model("broken", Optional.of("*/5 * * * *"))), name -> {
                            trained.add(name);
                            if (name.equals("broken")) {
                                throw new IllegalStateException("no rows");
                            }
                        }, leases, Clock.fixed(start, ZoneOffset.UTC)).start()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!leases.holds(MlTrainings.LEASE) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(leases.holds(MlTrainings.LEASE)).isTrue();
            assertThat(trainings.nextTrainings()).isEqualTo(Map.of("price", Instant.parse("2026-12-07T10:05:00Z"),
                    "broken", Instant.parse("2026-12-07T10:05:00Z")));

            trainings.fire(Instant.parse("2026-12-07T10:04:59Z"));
            assertThat(trained).isEmpty();
            trainings.fire(Instant.parse("2026-12-07T10:05:00Z"));
            trainings.fire(Instant.parse("2026-12-07T10:05:30Z"));
            assertThat(trained).containsExactly("broken", "price"); // a failing one does not hold the others back
            trainings.fire(Instant.parse("2026-12-07T11:00:00Z")); // down for eleven fires: one training, not eleven
            assertThat(trained).containsExactly("broken", "price", "broken", "price");
            assertThat(trainings.nextTrainings()).containsEntry("price", Instant.parse("2026-12-07T11:05:00Z"));
        }
    }
}
