package io.watershed.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.Secret;
import io.watershed.spi.Settings;
import io.watershed.spi.StateDatabase;
import io.watershed.spi.WatershedException;
import io.watershed.testing.MovableClock;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every access store test again, on a real PostgreSQL ({@code metadata.url}): one server for the class, a schema of
 * its own for each test. Then what only a shared database shows: two stores (two instances) see each other's changes,
 * they apply the migrations once, and a restart of PostgreSQL costs one retriable answer, not the store.
 */
class AccessStorePostgresTest extends AccessStoreTest {
    private static final AtomicInteger SCHEMAS = new AtomicInteger();
    static EmbeddedPostgres postgres;
    private String schema;

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

    static Settings.Metadata metadata(String schema) {
        return Settings.Metadata.postgres(postgres.getJdbcUrl("postgres", "postgres"), "postgres",
                Secret.of(""), schema);
    }

    @Override
    StateDatabase database() {
        if (schema == null) {
            schema = "access_test_" + SCHEMAS.incrementAndGet();
        }
        return StateDatabase.of(metadata(schema), dir);
    }

    @Override
    String storedText() throws Exception {
        StringBuilder text = new StringBuilder();
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT t::text FROM " + schema + ".tokens t")) {
            while (rs.next()) {
                text.append(rs.getString(1)).append('\n');
            }
        }
        assertThat(text).as("the tokens are there").isNotEmpty();
        return text.toString();
    }

    @Test
    void twoInstancesShareUsersAndTokensAndApplyTheMigrationsOnce() throws Exception {
        try (AccessStore first = open(Clock.systemUTC(), 100); AccessStore second = open(Clock.systemUTC(), 100)) {
            first.createUser("ana", "person");
            String token = first.issueToken("ana", "laptop", Optional.empty(), Optional.empty(), Optional.empty()).token();
            assertThat(second.authenticate(token).user()).as("issued on one instance, accepted on the other").isEqualTo("ana");
            assertThat(second.users()).extracting(AccessStore.User::name).contains("admin", "ana");
        }
        MovableClock clock = new MovableClock(java.time.Instant.parse("2026-11-22T10:00:00Z"));
        try (AccessStore first = open(clock, 100); AccessStore second = open(clock, 100)) {
            var issued = first.issueToken("ana", "phone", Optional.empty(), Optional.empty(), Optional.empty());
            assertThat(second.authenticate(issued.token()).user()).isEqualTo("ana");
            assertThat(first.revokeToken(issued.info().id())).isTrue();
            clock.advance(AccessStore.SHARED_TRUST.plusSeconds(1));
            assertThatThrownBy(() -> second.authenticate(issued.token())).as("revoked on the other instance: trusted a few "
                    + "seconds at most").isInstanceOf(WatershedException.class);
        }
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM " + schema + ".watershed_migrations WHERE part = 'access'")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(AccessDatabase.MIGRATIONS.size());
        }
    }

    @Test
    void aConnectionLostToPostgresCostsOneRetriableAnswerAndTheNextRequestReconnects() throws Exception {
        try (AccessStore store = open(Clock.systemUTC(), 100)) {
            assertThat(store.users()).isNotEmpty();
            try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
                // what a PostgreSQL restart does to every open session
                s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'watershed-access'");
            }
            assertThatThrownBy(store::users).isInstanceOf(WatershedException.class).satisfies(e -> {
                WatershedException w = (WatershedException) e;
                assertThat(w.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                assertThat(w.getMessage()).contains("access tables in PostgreSQL").contains("check that PostgreSQL");
            });
            assertThat(store.users()).as("reconnected").isNotEmpty();
        }
    }
}
