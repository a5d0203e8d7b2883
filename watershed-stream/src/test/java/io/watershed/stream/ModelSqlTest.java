package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.LocalDateTime;
import org.junit.jupiter.api.Test;

/** A model's SQL as a build runs it: variables as literals, positions mapped back to the file. */
class ModelSqlTest {
    private static final LocalDateTime START = LocalDateTime.of(2026, 11, 1, 0, 0);
    private static final LocalDateTime END = LocalDateTime.of(2026, 11, 2, 0, 0);

    @Test
    void variablesBecomeLiteralsAndTheFinalSemicolonGoes() {
        assertThat(ModelSql.render("SELECT * FROM t WHERE ts >= {{ start }} AND d < {{end_date}};\n-- done\n", START, END))
                .isEqualTo("SELECT * FROM t WHERE ts >= TIMESTAMP '2026-11-01 00:00:00' AND d < DATE '2026-11-02'");
        assertThat(ModelSql.withoutFinalSemicolon("SELECT ';'")).isEqualTo("SELECT ';'");
    }

    @Test
    void aColumnOfTheRenderedSqlIsAColumnOfTheFile() {
        String sql = "SELECT * FROM t WHERE ts >= {{ start }} AND x = 1";
        int inFile = sql.indexOf("x = 1") + 1;
        int rendered = ModelSql.render(sql, START, END).indexOf("x = 1") + 1;
        assertThat(ModelSql.fileColumn(sql, 1, rendered, START, END)).isEqualTo(inFile);
        // inside the literal: the variable's column
        assertThat(ModelSql.fileColumn(sql, 1, sql.indexOf("{{") + 5, START, END)).isEqualTo(sql.indexOf("{{") + 1);
    }
}
