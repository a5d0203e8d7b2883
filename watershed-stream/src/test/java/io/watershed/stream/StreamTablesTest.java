package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.LakeTableView;
import io.watershed.spi.StreamSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.formats.common.TimestampFormat;
import org.apache.flink.formats.json.JsonParserRowDataDeserializationSchema;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarCharType;
import org.apache.flink.util.SimpleUserCodeClassLoader;
import org.apache.flink.util.UserCodeClassLoader;
import org.junit.jupiter.api.Test;

class StreamTablesTest {
    @Test
    void aStreamReadThroughItsRawTableHasColumnsNamedAfterTheFieldsItsEventsCarry() {
        LakeTableView raw = new LakeTableView("raw", "logs", 1, List.of(
                new LakeTableView.Column(1, "_partition", "INTEGER"), new LakeTableView.Column(2, "_offset", "BIGINT"),
                new LakeTableView.Column(3, "_ingested_at", "TIMESTAMPTZ"),
                new LakeTableView.Column(4, "http_status", "INTEGER", "http.status"),
                new LakeTableView.Column(5, "user", "VARCHAR"),
                new LakeTableView.Column(6, "User_2", "VARCHAR", "User")), List.of(), Map.of());
        assertThat(StreamTables.columns(StreamSpec.inferred("logs", 1), Optional.of(raw)))
                .containsExactly(Map.entry("http.status", "INT"), Map.entry("user", "STRING"), Map.entry("User", "STRING"));
    }

    /** What makes field-named columns right: Flink's JSON format reads a column from the key of exactly its name. */
    @Test
    void flinksJsonFormatReadsADottedOrCaseTwinColumnFromTheKeyOfItsName() throws Exception {
        RowType type = RowType.of(new LogicalType[] {new IntType(), new VarCharType(VarCharType.MAX_LENGTH),
                new VarCharType(VarCharType.MAX_LENGTH), new IntType()}, new String[] {"http.status", "user", "User", "http_status"});
        JsonParserRowDataDeserializationSchema json = new JsonParserRowDataDeserializationSchema(type, InternalTypeInfo.of(type),
                false, false, TimestampFormat.ISO_8601);
        json.open(new DeserializationSchema.InitializationContext() {
            @Override
            public MetricGroup getMetricGroup() {
                return new UnregisteredMetricsGroup();
            }

            @Override
            public UserCodeClassLoader getUserCodeClassLoader() {
                return SimpleUserCodeClassLoader.create(getClass().getClassLoader());
            }
        });
        List<RowData> rows = new ArrayList<>();
        json.deserialize("{\"http\":{\"status\":1},\"http.status\":200,\"user\":\"ann\",\"User\":\"ANN\"}"
                .getBytes(StandardCharsets.UTF_8), new ListCollector<>(rows));
        RowData row = rows.get(0);
        assertThat(List.of(row.getInt(0), row.getString(1).toString(), row.getString(2).toString())).containsExactly(200, "ann", "ANN");
        assertThat(row.isNullAt(3)).isTrue();
    }
}
