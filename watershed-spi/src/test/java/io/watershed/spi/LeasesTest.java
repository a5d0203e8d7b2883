package io.watershed.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two instances' leases on one state database: one holder at a time, takeover after the holder gives up or dies, rising
 * epochs, and a holder that cannot renew stops its work before the lease ends. On SQLite (one machine) and on a real
 * PostgreSQL (metadata.url).
 */
class LeasesTest {
    static final Duration TTL = Duration.ofMillis(1500);
    static EmbeddedPostgres postgres;
    static final AtomicInteger SCHEMAS = new AtomicInteger();

    @BeforeAll
    static void startPostgres() throws Exception {
        postgres = EmbeddedPostgres.builder().start();
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }

    /** Records what a lease told its work. */
    static final class Log implements Leases.Work {
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void acquired(long epoch) {
            events.add("acquired " + epoch);
        }

        @Override
        public void lost() {
            events.add("lost");
        }
    }

    abstract static class Contract {
        @TempDir
        Path dir;

        abstract StateDatabase database(String instance);

        /** Holds a write lock on the lease table until closed, as an unreachable or stuck database would. */
        abstract AutoCloseable blockLeaseTable() throws Exception;

        @Test
        void oneHolderAtATimeAndTakeoverAfterRelease() throws Exception {
            Log a = new Log();
            Log b = new Log();
            try (Leases one = database("one").leases(); Leases two = database("two").leases()) {
                one.claim("lake:clicks", a);
                assertThat(a.events).containsExactly("acquired 1");
                two.claim("lake:clicks", b);
                assertThat(b.events).isEmpty();
                assertThat(one.holds("lake:clicks")).isTrue();
                assertThat(two.holds("lake:clicks")).isFalse();
                assertThat(two.holders()).filteredOn(h -> h.work().equals("lake:clicks")).singleElement().satisfies(h -> {
                    assertThat(h.instance()).isEqualTo("one");
                    assertThat(h.live()).isTrue();
                    assertThat(h.epoch()).isEqualTo(1);
                });
                assertThatThrownBy(() -> one.claim("lake:clicks", a)).isInstanceOf(IllegalStateException.class);

                // renewals keep it for longer than the lease lasts
                Thread.sleep(TTL.toMillis() * 2);
                assertThat(b.events).isEmpty();
                assertThat(one.held()).containsEntry("lake:clicks", 1L);

                long released = System.nanoTime();
                one.release("lake:clicks");
                await(() -> !b.events.isEmpty(), TTL.multipliedBy(2));
                assertThat(Duration.ofNanos(System.nanoTime() - released)).isLessThan(TTL);
                assertThat(b.events).containsExactly("acquired 2");
                assertThat(a.events).containsExactly("acquired 1"); // a release calls nothing back
            }
        }

        @Test
        void aDeadHolderIsTakenOverAfterTheLeaseEnds() throws Exception {
            Log a = new Log();
            Log b = new Log();
            try (Leases one = database("one").leases(); Leases two = database("two").leases()) {
                one.claim("models", a);
                two.claim("models", b);
                assertThat(two.alive("one")).isTrue();
                one.halt(); // kill -9: nothing is given up
                long died = System.nanoTime();
                await(() -> !b.events.isEmpty(), TTL.multipliedBy(3));
                Duration takeover = Duration.ofNanos(System.nanoTime() - died);
                assertThat(takeover).isLessThan(TTL.plus(TTL.dividedBy(3)).plusMillis(500));
                assertThat(b.events).containsExactly("acquired 2");
                assertThat(two.holders()).filteredOn(h -> h.work().equals("models")).singleElement()
                        .satisfies(h -> assertThat(h.instance()).isEqualTo("two"));
                // the dead one's presence ends with its leases
                assertThat(two.alive("one")).isFalse();
                assertThat(two.alive("two")).isTrue();
                assertThat(two.held()).containsOnlyKeys("models");
            }
        }

        @Test
        void aRestartedInstanceTakesItsOwnLeaseBackAtOnce() {
            Log a = new Log();
            Leases first = database("one").leases();
            first.claim("upkeep", a);
            first.halt();
            try (Leases again = database("one").leases()) {
                Log b = new Log();
                again.claim("upkeep", b);
                assertThat(b.events).containsExactly("acquired 2");
            }
        }

        @Test
        void aHolderThatCannotRenewStopsItsWorkBeforeTheLeaseEnds() throws Exception {
            Log a = new Log();
            Log b = new Log();
            try (Leases one = database("one").leases(); Leases two = database("two").leases()) {
                one.claim("pipeline:sessions", a);
                long lastRenewal = System.nanoTime();
                two.claim("pipeline:sessions", b);
                try (AutoCloseable blocked = blockLeaseTable()) {
                    await(() -> a.events.contains("lost"), TTL.multipliedBy(3));
                    Duration stopped = Duration.ofNanos(System.nanoTime() - lastRenewal);
                    // it stops within its two thirds, before the lease can end in the database
                    assertThat(stopped).isLessThan(TTL);
                    assertThat(b.events).isEmpty();
                }
                // the database answers again: the lease has ended, and either instance may hold it now, never both
                await(() -> one.holds("pipeline:sessions") || two.holds("pipeline:sessions"), TTL.multipliedBy(4));
                assertThat(one.holds("pipeline:sessions") && two.holds("pipeline:sessions")).isFalse();
                assertThat(one.held().values().stream().mapToLong(Long::longValue).sum()
                        + two.held().values().stream().mapToLong(Long::longValue).sum()).isGreaterThan(1);
            }
        }
    }

    @Nested
    class OnSqlite extends Contract {
        @Override
        StateDatabase database(String instance) {
            return StateDatabase.of(metadata(Optional.empty(), "watershed", instance), dir);
        }

        @Override
        AutoCloseable blockLeaseTable() throws Exception {
            Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("leases.db"));
            try (Statement s = c.createStatement()) {
                s.execute("BEGIN EXCLUSIVE");
            }
            return () -> {
                try (Statement s = c.createStatement()) {
                    s.execute("ROLLBACK");
                }
                c.close();
            };
        }
    }

    @Nested
    class OnPostgres extends Contract {
        String schema;

        @Override
        StateDatabase database(String instance) {
            if (schema == null) {
                schema = "leases_test_" + SCHEMAS.incrementAndGet();
            }
            return StateDatabase.of(metadata(Optional.of(postgres.getJdbcUrl("postgres", "postgres")), schema, instance), dir);
        }

        @Override
        AutoCloseable blockLeaseTable() throws Exception {
            Connection c = postgres.getPostgresDatabase().getConnection();
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("LOCK TABLE " + schema + ".watershed_leases IN ACCESS EXCLUSIVE MODE");
            }
            return () -> {
                c.rollback();
                c.close();
            };
        }
    }

    static Settings.Metadata metadata(Optional<String> url, String schema, String instance) {
        return new Settings.Metadata(url, url.map(u -> "postgres"), Secret.of(""), schema, Optional.of(instance), TTL);
    }

    static void await(java.util.function.BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout);
            }
            Thread.sleep(20);
        }
    }
}
