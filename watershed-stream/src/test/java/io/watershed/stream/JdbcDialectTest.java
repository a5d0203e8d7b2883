package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.table.types.logical.VarCharType;
import org.junit.jupiter.api.Test;

/** The statements a JDBC sink sends, per database. */
class JdbcDialectTest {
    private static final List<String> COLUMNS = List.of("page", "day", "views");
    private static final List<String> KEY = List.of("page", "day");

    @Test
    void postgresqlUpsertsOnConflictAndQuotesIdentifiersAsWritten() {
        JdbcDialect pg = JdbcDialect.of("jdbc:postgresql://db:5432/marts");
        assertThat(pg.upsert("marts.page_counts", COLUMNS, KEY)).isEqualTo("INSERT INTO \"marts\".\"page_counts\" "
                + "(\"page\", \"day\", \"views\") VALUES (?, ?, ?) ON CONFLICT (\"page\", \"day\") DO UPDATE SET \"views\" = EXCLUDED.\"views\"");
        assertThat(pg.upsert("t", KEY, KEY)).endsWith("ON CONFLICT (\"page\", \"day\") DO NOTHING");
        assertThat(pg.delete("page_counts", KEY)).isEqualTo("DELETE FROM \"page_counts\" WHERE \"page\" = ? AND \"day\" = ?");
        assertThat(pg.insert("log", List.of("a"))).isEqualTo("INSERT INTO \"log\" (\"a\") VALUES (?)");
        assertThat(pg.quote("we\"ird")).isEqualTo("\"we\"\"ird\"");
    }

    @Test
    void mysqlAndMariadbUpsertOnDuplicateKey() {
        JdbcDialect my = JdbcDialect.of("jdbc:mariadb://db:3306/serving");
        assertThat(JdbcDialect.of("jdbc:mysql://db:3306/serving")).isSameAs(my);
        assertThat(my.upsert("serving.page_counts", COLUMNS, KEY)).isEqualTo("INSERT INTO `serving`.`page_counts` "
                + "(`page`, `day`, `views`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `views` = VALUES(`views`)");
        assertThat(my.upsert("t", KEY, KEY)).endsWith("ON DUPLICATE KEY UPDATE `page` = VALUES(`page`)");
        assertThat(my.delete("t", List.of("page"))).isEqualTo("DELETE FROM `t` WHERE `page` = ?");
        assertThat(my.quote("we`ird")).isEqualTo("`we``ird`");
    }

    @Test
    void createdTablesMapFlinkTypesAndTakeTheKeyAsPrimaryKey() {
        List<LogicalType> types = List.of(new VarCharType(false, VarCharType.MAX_LENGTH), new TimestampType(3), new BigIntType(false));
        assertThat(JdbcDialect.POSTGRESQL.createTable("page_counts", COLUMNS, types, KEY)).isEqualTo("CREATE TABLE IF NOT EXISTS "
                + "\"page_counts\" (\"page\" text NOT NULL, \"day\" timestamp(3) NOT NULL, \"views\" bigint NOT NULL, "
                + "PRIMARY KEY (\"page\", \"day\"))");
        assertThat(JdbcDialect.MYSQL.createTable("page_counts", COLUMNS, types, List.of("page"))).isEqualTo("CREATE TABLE IF NOT "
                + "EXISTS `page_counts` (`page` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, `day` datetime(3), "
                + "`views` bigint NOT NULL, PRIMARY KEY (`page`))");
        assertThat(JdbcDialect.POSTGRESQL.type(new DecimalType(10, 2), false)).contains("numeric(10, 2)");
        assertThat(JdbcDialect.POSTGRESQL.type(new LocalZonedTimestampType(9), false)).contains("timestamptz(6)");
        assertThat(JdbcDialect.MYSQL.type(new VarCharType(20), false)).contains("text");
        assertThat(JdbcDialect.MYSQL.type(new org.apache.flink.table.types.logical.ArrayType(new BigIntType()), false)).isEmpty();
        assertThatThrownBy(() -> JdbcDialect.of("jdbc:sqlite:x.db?password=p")).hasMessage("Cannot write to jdbc:sqlite:x.db: "
                + "only jdbc:postgresql:, jdbc:mysql: and jdbc:mariadb: URLs are supported");
    }
}
