package io.watershed.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class StoreFailureTest {
    @Test
    void aBusyLockedFullOrClosedDatabaseIsUnavailableAndSaysWhatToDo() {
        for (SQLException e : new SQLException[] {new SQLException("[SQLITE_BUSY] The database file is locked", null, 5),
                new SQLException("[SQLITE_IOERR_WRITE] disk I/O error", null, 778), new SQLException("[SQLITE_FULL] disk is full", null, 13),
                new SQLException("database connection closed")}) {
            WatershedException w = StoreFailure.of("list the runs", "the run history schedule.db", e);
            assertThat(w.code()).as(e.getMessage()).isEqualTo(ErrorCode.UNAVAILABLE);
            assertThat(w.retryAfter()).contains(StoreFailure.RETRY_AFTER);
            assertThat(w.getMessage()).startsWith("Cannot list the runs: the run history schedule.db is unavailable (" + e.getMessage())
                    .contains("Retry in a few seconds").contains("free space");
            assertThat(w.getCause()).isSameAs(e);
        }
    }

    @Test
    void aStatementTheDatabaseRefusesIsOurBug() {
        WatershedException w = StoreFailure.of("create role 'x'", "the access database", new SQLException(
                "[SQLITE_CONSTRAINT_PRIMARYKEY] A PRIMARY KEY constraint failed", null, 1555));
        assertThat(w.code()).isEqualTo(ErrorCode.INTERNAL);
        assertThat(w.getMessage()).startsWith("Cannot create role 'x': the access database refused the statement");
    }
}
