package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.OffsetDateTime;
import java.util.Map;
import org.apache.iceberg.Schema;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;

class RawSchemaTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode json(String text) throws Exception {
        return (ObjectNode) JSON.readTree(text);
    }

    private static Schema withColumn(String name, org.apache.iceberg.types.Type type) {
        return new Schema(Types.NestedField.required(1, "_partition", Types.IntegerType.get()),
                Types.NestedField.optional(4, name, type));
    }

    @Test
    void infersTypesAndKeepsNestedValuesAsJson() throws Exception {
        RawSchema.Changes changes = RawSchema.changesFor(RawSchema.initial(),
                json("{\"n\":1,\"big\":3000000000,\"f\":1.5,\"s\":\"x\",\"b\":true,\"o\":{\"k\":1},\"a\":[1,2],\"z\":null}"), Map.of());
        assertThat(changes.additions()).containsExactly(
                Map.entry("n", Types.IntegerType.get()), Map.entry("big", Types.LongType.get()),
                Map.entry("f", Types.DoubleType.get()), Map.entry("s", Types.StringType.get()),
                Map.entry("b", Types.BooleanType.get()), Map.entry("o", Types.StringType.get()),
                Map.entry("a", Types.StringType.get()));
        assertThat(RawSchema.convert("o", Types.StringType.get(), json("{\"o\":{\"k\":1}}").get("o"))).isEqualTo("{\"k\":1}");
    }

    @Test
    void declaredTypesWinOverInference() throws Exception {
        RawSchema.Changes changes = RawSchema.changesFor(RawSchema.initial(), json("{\"ts\":\"2026-11-21T10:00:00+09:00\"}"),
                Map.of("ts", "timestamp"));
        assertThat(changes.additions()).containsEntry("ts", Types.TimestampType.withZone());
        assertThat(RawSchema.convert("ts", Types.TimestampType.withZone(), json("{\"t\":\"2026-11-21T10:00:00+09:00\"}").get("t")))
                .isEqualTo(OffsetDateTime.parse("2026-11-21T01:00:00Z"));
    }

    @Test
    void intWidensToLongAndIntegersFitDoubles() throws Exception {
        assertThat(RawSchema.changesFor(withColumn("n", Types.IntegerType.get()), json("{\"n\":3000000000}"), Map.of())
                .widenToLong()).containsExactly("n");
        assertThat(RawSchema.changesFor(withColumn("n", Types.LongType.get()), json("{\"n\":2.5}"), Map.of())
                .widenToDouble()).containsExactly("n");
        assertThat(RawSchema.changesFor(withColumn("n", Types.IntegerType.get()), json("{\"n\":2.5}"), Map.of())
                .widenToDouble()).containsExactly("n");
        assertThat(RawSchema.convert("d", Types.DoubleType.get(), json("{\"d\":3}").get("d"))).isEqualTo(3.0);
    }

    @Test
    void valuesThatCannotFitAreConflictsWithAPreciseReason() {
        assertThatThrownBy(() -> RawSchema.changesFor(withColumn("price", Types.DoubleType.get()), json("{\"price\":\"free\"}"), Map.of()))
                .isInstanceOf(RawSchema.Conflict.class).hasMessage("field 'price': expected double, got string \"free\"");
        assertThatThrownBy(() -> RawSchema.changesFor(withColumn("n", Types.LongType.get()), json("{\"n\":1.5}"), Map.of("n", "long")))
                .hasMessageContaining("field 'n': column is declared long in the stream file; got 1.5");
        assertThatThrownBy(() -> RawSchema.changesFor(withColumn("s", Types.StringType.get()), json("{\"s\":5}"), Map.of()))
                .hasMessage("field 's': expected string, got integer 5");
        assertThatThrownBy(() -> RawSchema.changesFor(RawSchema.initial(), json("{\"_offset\":5}"), Map.of()))
                .hasMessageContaining("reserved column name");
        assertThatThrownBy(() -> RawSchema.changesFor(RawSchema.initial(), json("{\"ts\":\"yesterday\"}"), Map.of("ts", "timestamp")))
                .hasMessageContaining("is not an ISO-8601 timestamp");
    }

    @Test
    void offsetsRoundTripThroughTheSnapshotSummaryFormat() {
        Map<Integer, Long> offsets = Map.of(0, 1200L, 1, 1187L, 10, 5L);
        assertThat(CommittedOffsets.encode(offsets)).isEqualTo("0:1200,1:1187,10:5");
        assertThat(CommittedOffsets.decode("0:1200,1:1187,10:5")).isEqualTo(offsets);
        assertThat(CommittedOffsets.decode("")).isEmpty();
    }
}
