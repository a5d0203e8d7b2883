package io.watershed.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.StateDatabase;
import io.watershed.spi.WatershedException;
import io.watershed.testing.MovableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The access store on SQLite ({@code access.db}); {@link AccessStorePostgresTest} runs the same on PostgreSQL. */
class AccessStoreTest {
    @TempDir
    Path dir;

    /** Where the store keeps its rows. */
    StateDatabase database() {
        return StateDatabase.local(dir);
    }

    AccessStore open(Clock clock, int defaultRate) {
        return new AccessStore(database(), clock, defaultRate);
    }

    /** Everything the database holds, as text, to look for what must not be there. */
    String storedText() throws Exception {
        StringBuilder text = new StringBuilder();
        for (String file : List.of("access.db", "access.db-wal")) { // in WAL mode new rows sit in the -wal file first
            if (Files.exists(dir.resolve(file))) {
                text.append(new String(Files.readAllBytes(dir.resolve(file)), java.nio.charset.StandardCharsets.ISO_8859_1));
            }
        }
        assertThat(text).as("the tokens are there").contains("wst_");
        return text.toString();
    }

    private static void unauthenticated(AccessStore store, String token) {
        assertThatThrownBy(() -> store.authenticate(token)).isInstanceOf(WatershedException.class)
                .satisfies(e -> assertThat(((WatershedException) e).code()).isEqualTo(ErrorCode.UNAUTHENTICATED));
    }

    @Test
    void theAdminTokenFileIsIssuedOnceAndRenewedWhenDeleted() throws Exception {
        Path file = dir.resolve("admin.token");
        try (AccessStore store = open(Clock.systemUTC(), 100)) {
            String first = store.adminToken(file);
            assertThat(store.adminToken(file)).isEqualTo(first);
            assertThat(store.authenticate(first).admin()).isTrue();
            Files.delete(file);
            String second = store.adminToken(file);
            assertThat(second).isNotEqualTo(first);
            unauthenticated(store, first);
            assertThat(store.authenticate(second).user()).isEqualTo("admin");
        }
        try (AccessStore reopened = open(Clock.systemUTC(), 100)) {
            assertThat(reopened.authenticate(Files.readString(file).strip()).admin()).as("survives a restart").isTrue();
        }
    }

    @Test
    void tokensExpireAreRevokedAndAreNeverStoredInClear() throws Exception {
        MovableClock clock = new MovableClock(Instant.parse("2026-11-22T10:00:00Z"));
        try (AccessStore store = open(clock, 100)) {
            store.createUser("ana", "person");
            String day = store.issueToken("ana", "day", Optional.of(Duration.ofDays(1)), Optional.empty(), Optional.empty()).token();
            AccessStore.IssuedToken forever = store.issueToken("ana", "forever", Optional.empty(), Optional.empty(), Optional.of(5));
            assertThat(store.authenticate(day).user()).isEqualTo("ana");
            assertThat(store.authenticate(forever.token()).ratePerSecond()).isEqualTo(5);
            assertThat(forever.toString()).doesNotContain(forever.token());
            clock.advance(Duration.ofDays(1));
            unauthenticated(store, day);
            assertThat(store.revokeToken(forever.info().id())).isTrue();
            unauthenticated(store, forever.token());
            unauthenticated(store, null);
            unauthenticated(store, "Bearer nonsense");
            unauthenticated(store, forever.info().id() + "_" + "A".repeat(43));
            assertThat(storedText()).doesNotContain(day.substring(21));
        }
    }

    @Test
    void aKafkaLoginIsAnActiveTokenUnderItsOwnId() {
        MovableClock clock = new MovableClock(Instant.parse("2026-11-22T10:00:00Z"));
        try (AccessStore store = open(clock, 100)) {
            store.createUser("ana", "person");
            AccessStore.IssuedToken day = store.issueToken("ana", "day", Optional.of(Duration.ofDays(1)), Optional.empty(),
                    Optional.empty());
            AccessStore.IssuedToken other = store.issueToken("ana", "other", Optional.empty(), Optional.empty(), Optional.empty());
            String id = day.info().id();
            assertThat(store.validLogin(id, day.token())).isTrue();
            assertThat(store.validLogin(id, day.token().substring(0, day.token().length() - 2) + "xx")).as("a wrong secret").isFalse();
            assertThat(store.validLogin(id, other.token())).as("another token of the same user").isFalse();
            assertThat(store.validLogin(other.info().id(), day.token())).as("a token under another id").isFalse();
            assertThat(store.validLogin(id, id)).as("the id as password").isFalse();
            assertThat(store.validLogin(id, "")).isFalse();
            clock.advance(Duration.ofDays(1));
            assertThat(store.validLogin(id, day.token())).as("expired").isFalse();
            assertThat(store.validLogin(other.info().id(), other.token())).isTrue();
            store.revokeToken(other.info().id());
            assertThat(store.validLogin(other.info().id(), other.token())).as("revoked").isFalse();
        }
    }

    @Test
    void grantsDecideWhatAPrincipalMayDo() {
        try (AccessStore store = open(Clock.systemUTC(), 100)) {
            store.createRole("analyst");
            store.grant("analyst", Privilege.READ, "table:raw.*", List.of());
            store.grant("analyst", Privilege.READ, "table:models.people", List.of("id", "Country"));
            store.grant("analyst", Privilege.RUN, "model:daily_*", List.of());
            store.createUser("ana", "person");
            store.addMember("ana", "analyst");
            Principal ana = store.authenticate(store.issueToken("ana", "", Optional.empty(), Optional.empty(), Optional.empty()).token());
            assertThat(ana.admin()).isFalse();
            assertThat(ana.columns("raw.clicks")).contains(Set.of());
            assertThat(ana.columns("models.people")).contains(Set.of("id", "country"));
            assertThat(ana.columns("models.other")).isEmpty();
            assertThat(ana.columns(Principal.AUDIT_TABLE)).as("the audit log is for admins, even under raw.*").isEmpty();
            assertThat(ana.may(Privilege.RUN, "model:daily_top")).isTrue();
            assertThat(ana.may(Privilege.RUN, "model:weekly")).isFalse();
            assertThat(ana.may(Privilege.WRITE, "stream:clicks")).isFalse();

            store.grant("analyst", Privilege.WRITE, "stream:clicks", List.of());
            Principal scoped = store.authenticate(store.issueToken("ana", "", Optional.empty(), Optional.of("clicks"), Optional.empty())
                    .token());
            assertThat(scoped.may(Privilege.WRITE, "stream:clicks")).isTrue();
            assertThat(scoped.may(Privilege.RUN, "model:daily_top")).as("a stream token does nothing else").isFalse();
            assertThat(scoped.columns("raw.clicks")).isEmpty();

            store.revoke("analyst", Privilege.READ, "table:raw.*");
            assertThat(store.principal(ana.tokenId()).orElseThrow().columns("raw.clicks")).as("a revoked grant is gone at once").isEmpty();
            store.deleteUser("ana");
            assertThat(store.tokens()).filteredOn(t -> t.user().equals("ana")).allMatch(t -> t.revokedAt().isPresent());
        }
    }

    @Test
    void mistakesAreRefusedWithTheirReason() {
        try (AccessStore store = open(Clock.systemUTC(), 100)) {
            store.createRole("r");
            assertThatThrownBy(() -> store.grant("r", Privilege.WRITE, "model:x", List.of())).hasMessageContaining("write applies to stream:<name> or table:<name>");
            assertThatThrownBy(() -> store.grant("r", Privilege.WRITE, "table:raw.x", List.of())).hasMessageContaining("written by Watershed only");
            assertThat(store.grant("r", Privilege.WRITE, "table:ext.*", List.of()).object()).isEqualTo("table:ext.*");
            assertThatThrownBy(() -> store.grant("r", Privilege.WRITE, "stream:x", List.of("a"))).hasMessageContaining("only read grants");
            assertThatThrownBy(() -> store.grant("r", Privilege.READ, "table:raw.watershed_audit", List.of())).hasMessageContaining("admins only");
            assertThatThrownBy(() -> store.grant("nobody", Privilege.READ, "table:raw.x", List.of())).hasMessageContaining("Cannot find role");
            assertThatThrownBy(() -> store.createUser("../x", "person")).hasMessageContaining("Cannot use user name");
            assertThatThrownBy(() -> store.deleteUser("admin")).hasMessageContaining("stays");
            assertThatThrownBy(() -> store.revoke("admin", Privilege.ADMIN, "*")).hasMessageContaining("Cannot revoke admin");
            assertThatThrownBy(() -> Privilege.parse("delete")).hasMessageContaining("use read");
        }
    }

    @Test
    void patternsMatchWholeNames() {
        assertThat(Grant.matches("table:raw.*", "table:raw.clicks")).isTrue();
        assertThat(Grant.matches("table:raw.c*s", "table:raw.clicks")).isTrue();
        assertThat(Grant.matches("table:raw.clicks", "table:raw.clicks__dlq")).isFalse();
        assertThat(Grant.matches("table:raw.(x)", "table:raw.x")).isFalse();
        assertThat(Grant.matches("*", "model:any")).isTrue();
    }

    @Test
    void aDatabaseThatCannotBeReadIsUnavailableNotAnInternalError() {
        AccessStore store = open(Clock.systemUTC(), 100);
        String token = store.issueToken(AccessStore.ADMIN, "t", Optional.empty(), Optional.empty(), Optional.empty()).token();
        store.close(); // as when the file is gone, locked or the platform stops under a request
        for (org.assertj.core.api.ThrowableAssert.ThrowingCallable call : List.<org.assertj.core.api.ThrowableAssert.ThrowingCallable>of(
                store::users, store::roles, store::tokens, () -> store.createRole("analyst"), () -> store.authenticate(token))) {
            assertThatThrownBy(call).isInstanceOf(WatershedException.class).satisfies(e -> {
                WatershedException w = (WatershedException) e;
                assertThat(w.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                assertThat(w.code().retriable()).isTrue();
                assertThat(w.retryAfter()).isPresent();
                assertThat(w.getMessage()).startsWith("Cannot ").containsAnyOf("access database", "access tables").contains("Retry");
            });
        }
    }

    @Test
    void aStreamWriterTokenMayOnlyWriteItsStreamAndReplacesTheEarlierOne() {
        try (AccessStore store = open(Clock.systemUTC(), 100)) {
            String first = store.streamWriterToken("demo-generator", "clicks", "demo generator").token();
            Principal writer = store.authenticate(first);
            assertThat(writer.roles()).containsExactly("clicks-writer");
            assertThat(writer.stream()).contains("clicks");
            String second = store.streamWriterToken("demo-generator", "clicks", "demo generator").token();
            unauthenticated(store, first);
            assertThat(store.authenticate(second).user()).isEqualTo("demo-generator");
            assertThat(store.users().stream().filter(u -> u.name().equals("demo-generator")).findFirst().orElseThrow().kind())
                    .isEqualTo("service");
        }
    }
}
