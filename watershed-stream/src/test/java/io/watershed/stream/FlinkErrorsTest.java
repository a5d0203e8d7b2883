package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The error text pipelines and models share: root cause, position in the file, the parser's message shortened. */
class FlinkErrorsTest {
    @Test
    void thePositionComesFromTheOuterExceptionAndTheReasonFromTheRoot() {
        RuntimeException e = new RuntimeException("From line 2, column 7 to line 2, column 9: Column 'pag' not found",
                new IllegalStateException("Column 'pag' not found in any table"));
        // the statement starts on line 3 of its file, at column 5
        SqlScript.Statement statement = new SqlScript.Statement("INSERT INTO t\nSELECT pag FROM s", 3, 5);
        assertThat(FlinkErrors.position(e)).isEqualTo(new FlinkErrors.Position(2, 7));
        assertThat(FlinkErrors.located("pipelines/x.sql", statement, e))
                .isEqualTo("pipelines/x.sql:4:7: Column 'pag' not found in any table");
        assertThat(FlinkErrors.where("pipelines/x.sql", statement, 1, 1)).isEqualTo("pipelines/x.sql:3:5: ");
        assertThat(FlinkErrors.position(new RuntimeException("no position"))).isEqualTo(new FlinkErrors.Position(1, 1));
    }

    @Test
    void theParsersTokenListIsDroppedAndAReservedWordIsNamed() {
        String message = "Encountered \"value\" at line 1, column 8.\nWas expecting one of:\n    \"ABS\" ...\n    \"ALL\" ...";
        assertThat(FlinkErrors.parserMessage(message)).isEqualTo("Encountered \"value\" at line 1, column 8. If `value` is a "
                + "name, quote it with backticks: Flink SQL reserves it as a keyword.");
        assertThat(FlinkErrors.parserMessage("Column 'x' not found")).isEqualTo("Column 'x' not found");
    }

    @Test
    void aSinkThatCannotTakeUpdatesIsReportedAtTheStatementThatWritesIt() {
        SqlScript.Statement statement = new SqlScript.Statement("INSERT INTO streams.pages SELECT ...", 2, 1);
        RuntimeException e = new RuntimeException(new IllegalStateException(
                "Table sink 'watershed.streams.pages' doesn't support consuming update changes"));
        assertThat(FlinkErrors.locatedAtSink("pipelines/p.sql", Map.of("streams.pages", statement), e))
                .startsWith("pipelines/p.sql:2:1: Table sink").contains("CREATE LIVE VIEW");
        assertThat(FlinkErrors.locatedAtSink("pipelines/p.sql", Map.of(), new RuntimeException("boom"))).isEqualTo("pipelines/p.sql: boom");
    }

    @Test
    void aJobThatFailsOnStateThatNoLongerFitsSaysHowToReset() {
        RuntimeException e = new RuntimeException("Job failed", new IllegalStateException("Cannot map checkpoint/savepoint state for operator"));
        assertThat(FlinkErrors.jobFailure("pipelines/p.sql", "p", Optional.of("chk-7"), e))
                .startsWith("pipelines/p.sql: its saved state (chk-7) does not fit its SQL")
                .contains("watershed pipelines restart p --reset");
        assertThat(FlinkErrors.jobFailure("pipelines/p.sql", "p", Optional.empty(), e))
                .isEqualTo("pipelines/p.sql: the job failed: Cannot map checkpoint/savepoint state for operator");
    }
}
