package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.PipelineSpec;
import io.watershed.spi.Secret;
import io.watershed.spi.SinkSpec;
import io.watershed.spi.StreamSpec;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.ArrayType;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.DateType;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.table.types.logical.VarBinaryType;
import org.apache.flink.table.types.logical.VarCharType;
import org.junit.jupiter.api.Test;

/** The CQL a cassandra sink sends, its values, and {@code INSERT INTO sinks.<name>} of one planned offline. */
class CassandraSinkTest {
    private static final StreamSpec CLICKS = new StreamSpec("clicks", 1, Optional.empty(), Optional.of("ts"), Duration.ofSeconds(5),
            Optional.empty(), Map.of("user", "string", "page", "string", "ts", "timestamp"));

    private static CassandraSink.Target target(List<String> key, List<String> partitionKey, long ttlSeconds) {
        List<LogicalType> types = List.of(new VarCharType(VarCharType.MAX_LENGTH), new VarCharType(VarCharType.MAX_LENGTH),
                new BigIntType(false), new TimestampType(3));
        SinkShape shape = new SinkShape("page_counts", "page_counts", List.of("site", "Page", "hits", "last"), types, key, 100, 1000, "");
        return new CassandraSink.Target(shape, List.of("127.0.0.1:9042"), "dc1", "Serving", "page_counts", partitionKey, ttlSeconds,
                "LOCAL_QUORUM", "", "", 3, 8);
    }

    @Test
    void createsKeyspaceAndTableWithThePartitionKeyFirstAndTheRestClustering() {
        CassandraSink.Target target = target(List.of("site", "Page"), List.of("site"), 0);
        assertThat(CassandraSink.createKeyspace(target)).isEqualTo("CREATE KEYSPACE IF NOT EXISTS \"Serving\" WITH replication = "
                + "{'class': 'SimpleStrategy', 'replication_factor': 3}");
        assertThat(CassandraSink.createTable(target)).isEqualTo("CREATE TABLE IF NOT EXISTS \"Serving\".\"page_counts\" ("
                + "\"site\" text, \"Page\" text, \"hits\" bigint, \"last\" timestamp, PRIMARY KEY ((\"site\"), \"Page\"))");
        assertThat(CassandraSink.createTable(target(List.of("site", "Page"), List.of("site", "Page"), 0)))
                .endsWith("PRIMARY KEY ((\"site\", \"Page\")))");
    }

    @Test
    void upsertsWithTheTtlAndDeletesByTheWholeKey() {
        assertThat(CassandraSink.upsert(target(List.of("site", "Page"), List.of("site"), 86400))).isEqualTo(
                "INSERT INTO \"Serving\".\"page_counts\" (\"site\", \"Page\", \"hits\", \"last\") VALUES (?, ?, ?, ?) USING TTL 86400");
        assertThat(CassandraSink.upsert(target(List.of("site"), List.of("site"), 0))).doesNotContain("TTL");
        assertThat(CassandraSink.delete(target(List.of("site", "Page"), List.of("site"), 0)))
                .isEqualTo("DELETE FROM \"Serving\".\"page_counts\" WHERE \"site\" = ? AND \"Page\" = ?");
    }

    @Test
    void mapsFlinkTypesAndValuesToCql() {
        assertThat(CassandraSink.cqlType(new DecimalType(10, 2))).contains("decimal");
        assertThat(CassandraSink.cqlType(new LocalZonedTimestampType(3))).contains("timestamp");
        assertThat(CassandraSink.cqlType(new VarBinaryType(10))).contains("blob");
        assertThat(CassandraSink.cqlType(new ArrayType(new BigIntType()))).isEmpty();
        assertThat(CassandraSink.cqlValue(StringData.fromString("p1"), new VarCharType())).isEqualTo("p1");
        assertThat(CassandraSink.cqlValue(DecimalData.fromBigDecimal(new BigDecimal("1.50"), 10, 2), new DecimalType(10, 2)))
                .isEqualTo(new BigDecimal("1.50"));
        assertThat(CassandraSink.cqlValue(19_000, new DateType())).isEqualTo(LocalDate.ofEpochDay(19_000));
        assertThat(CassandraSink.cqlValue(TimestampData.fromEpochMillis(1_000), new TimestampType(3)))
                .isEqualTo(Instant.ofEpochMilli(1_000));
        assertThat(CassandraSink.cqlValue(new byte[] {1, 2}, new VarBinaryType(10))).isEqualTo(ByteBuffer.wrap(new byte[] {1, 2}));
    }

    private static ProjectValidation.Result validate(String name, String sql) {
        SinkSpec sink = new SinkSpec.Cassandra("click_log", List.of("cass1:9042"), "dc1", "serving", "click_log", List.of("user", "ts"),
                List.of("user"), Optional.empty(), "LOCAL_QUORUM", "loader", Secret.of("s3cret"), 1, 100, Duration.ofSeconds(1), 64,
                "sinks/click_log.yaml:1:1");
        return ProjectValidation.validate(List.of(new PipelineSpec(name, Path.of("pipelines", name + ".sql"), sql)), List.of(),
                List.of(CLICKS), Map.of("click_log", sink), List.of());
    }

    @Test
    void plansAppendOnlyAndUpdatingQueriesByTheKeyAndRefusesWhatCqlCannotHold() {
        assertThat(validate("log", "INSERT INTO sinks.click_log SELECT `user`, ts, page FROM streams.clicks;").problems()).isEmpty();
        assertThat(validate("last", "INSERT INTO sinks.click_log SELECT `user`, MAX(ts) AS ts, COUNT(*) AS hits FROM streams.clicks "
                + "GROUP BY `user`;").problems()).isEmpty();
        assertThat(validate("nokey", "INSERT INTO sinks.click_log SELECT page FROM streams.clicks;").problems())
                .containsExactly("pipelines/nokey.sql:1:1: INSERT INTO sinks.click_log: the sink is keyed by [user, ts] "
                        + "(sinks/click_log.yaml:1:1), but the query has no column [user, ts]; its columns are [page]");
        assertThat(validate("nested", "INSERT INTO sinks.click_log SELECT `user`, ts, ARRAY[page] AS pages FROM streams.clicks;")
                .problems()).singleElement().asString().startsWith("pipelines/nested.sql:1:1: INSERT INTO sinks.click_log: column "
                        + "'pages' has type ARRAY<STRING>");
    }
}
