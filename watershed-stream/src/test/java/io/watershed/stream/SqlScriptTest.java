package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SqlScriptTest {
    @Test
    void splitsAtSemicolonsOutsideQuotesAndCommentsAndKeepsWhereEachStatementStarts() {
        String sql = """
                -- a comment; not a statement
                SET 'a' = 'x;y';
                  INSERT INTO t /* ; */ SELECT 'it''s; fine', `odd;name` FROM s;

                SELECT "q;" FROM u""";
        List<SqlScript.Statement> statements = SqlScript.split(sql);
        assertThat(statements).extracting(SqlScript.Statement::text).containsExactly(
                "SET 'a' = 'x;y'",
                "INSERT INTO t   SELECT 'it''s; fine', `odd;name` FROM s",
                "SELECT \"q;\" FROM u");
        assertThat(statements).extracting(s -> s.line() + ":" + s.column()).containsExactly("2:1", "3:3", "5:1");
    }

    @Test
    void anEmptyOrCommentOnlyFileHasNoStatements() {
        assertThat(SqlScript.split("  -- nothing\n/* here */ ;\n")).isEmpty();
    }

    @Test
    void rawIsQuotedWhereItNamesTheLakeNamespaceAndPositionsMapBack() {
        SqlScript.Statement statement = new SqlScript.Statement("SELECT raw . a, 'raw.b', `raw`.c, x.raw.d, draw.e FROM raw.t", 1, 1)
                .withRawQuoted();
        assertThat(statement.text()).isEqualTo("SELECT `raw` . a, 'raw.b', `raw`.c, x.raw.d, draw.e FROM `raw`.t");
        // "t" is at column 60 of the file's text, and 64 in the quoted text
        assertThat(statement.fileColumn(1, 64)).isEqualTo(60);
        assertThat(statement.fileColumn(1, 3)).isEqualTo(3);
    }

    @Test
    void anApostropheInACommentOpensNoString() {
        SqlScript.Statement statement = new SqlScript.Statement("-- the shop's pages\nSELECT * /* it's */ FROM raw.clicks, models.x", 1, 1)
                .withRawQuoted();
        assertThat(statement.text()).isEqualTo("-- the shop's pages\nSELECT * /* it's */ FROM `raw`.clicks, `models`.x");
    }

    @Test
    void hintsStayInTheStatementAndCommentsDoNot() {
        List<SqlScript.Statement> statements = SqlScript.split(
                "SELECT * FROM t /*+ OPTIONS('streaming' = 'true') */ /* a comment; with a semicolon */ WHERE x = 1;");
        assertThat(statements).singleElement().extracting(SqlScript.Statement::text)
                .isEqualTo("SELECT * FROM t /*+ OPTIONS('streaming' = 'true') */   WHERE x = 1");
    }
}
