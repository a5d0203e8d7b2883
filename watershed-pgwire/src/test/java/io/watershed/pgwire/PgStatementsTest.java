package io.watershed.pgwire;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.pgwire.PgStatements.Kind;
import org.junit.jupiter.api.Test;

class PgStatementsTest {
    @Test
    void splitsAtSemicolonsOutsideQuotesAndComments() {
        assertThat(PgStatements.split("SELECT ';'; SELECT \"a;b\" FROM t -- ;\n; SELECT $$;$$"))
                .containsExactly("SELECT ';';", " SELECT \"a;b\" FROM t -- ;\n;", " SELECT $$;$$");
        assertThat(PgStatements.split("SELECT 1;")).containsExactly("SELECT 1;");
        assertThat(PgStatements.split("")).containsExactly("");
    }

    @Test
    void sessionCommandsAreAnsweredHere() {
        assertThat(PgStatements.classify("BEGIN").tag()).isEqualTo("BEGIN");
        assertThat(PgStatements.classify("set extra_float_digits = 3").kind()).isEqualTo(Kind.SESSION);
        assertThat(PgStatements.classify("SHOW TRANSACTION ISOLATION LEVEL").setting()).isEqualTo("transaction isolation level");
        assertThat(PgStatements.classify(" ; ").kind()).isEqualTo(Kind.EMPTY);
    }

    @Test
    void catalogQuestionsGoToTheCatalog() {
        assertThat(PgStatements.classify("SELECT * FROM pg_catalog.pg_class").kind()).isEqualTo(Kind.CATALOG);
        assertThat(PgStatements.classify("SELECT table_name FROM information_schema.tables").kind()).isEqualTo(Kind.CATALOG);
        assertThat(PgStatements.classify("SELECT version()").kind()).isEqualTo(Kind.CATALOG);
        assertThat(PgStatements.classify("SELECT 'pg_class' AS x FROM raw.clicks").kind()).isEqualTo(Kind.QUERY);
        assertThat(PgStatements.classify("SELECT * FROM raw.clicks").kind()).isEqualTo(Kind.QUERY);
    }
}
