package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.Schema;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;

class RawSchemaTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode json(String text) throws Exception {
        return (ObjectNode) JSON.readTree(text);
    }

    private static RawSchema.Columns withColumn(String name, org.apache.iceberg.types.Type type) {
        List<Types.NestedField> columns = new java.util.ArrayList<>(RawSchema.initial().columns());
        columns.add(Types.NestedField.optional(4, name, type));
        return RawSchema.Columns.of(new Schema(columns));
    }

    private static RawSchema.Columns initial() {
        return RawSchema.Columns.of(RawSchema.initial());
    }

    private static RawSchema.Addition column(String name, org.apache.iceberg.types.Type type) {
        return new RawSchema.Addition(name, type, null);
    }

    @Test
    void infersTypesAndKeepsNestedValuesAsJson() throws Exception {
        RawSchema.Changes changes = RawSchema.changesFor(initial(),
                json("{\"n\":1,\"big\":3000000000,\"f\":1.5,\"s\":\"x\",\"b\":true,\"o\":{\"k\":1},\"a\":[1,2],\"z\":null}"), Map.of());
        assertThat(changes.additions()).containsExactly(
                column("n", Types.IntegerType.get()), column("big", Types.LongType.get()),
                column("f", Types.DoubleType.get()), column("s", Types.StringType.get()),
                column("b", Types.BooleanType.get()), column("o", Types.StringType.get()),
                column("a", Types.StringType.get()));
        assertThat(RawSchema.convert("o", Types.StringType.get(), json("{\"o\":{\"k\":1}}").get("o"))).isEqualTo("{\"k\":1}");
    }

    @Test
    void declaredTypesWinOverInference() throws Exception {
        RawSchema.Changes changes = RawSchema.changesFor(initial(), json("{\"ts\":\"2026-11-21T10:00:00+09:00\"}"),
                Map.of("ts", "timestamp"));
        assertThat(changes.additions()).containsExactly(column("ts", Types.TimestampType.withZone()));
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
        assertThatThrownBy(() -> RawSchema.changesFor(initial(), json("{\"_offset\":5}"), Map.of()))
                .hasMessageContaining("reserved column name");
        assertThatThrownBy(() -> RawSchema.changesFor(initial(), json("{\"ts\":\"yesterday\"}"), Map.of("ts", "timestamp")))
                .hasMessageContaining("is not an ISO-8601 timestamp");
    }

    /** What the writer does with one event: the changes it needs made to the schema, the schema after, the row. */
    private record Landed(RawSchema.Changes changes, RawSchema.Columns columns, GenericRecord row) {
        Object value(String column) {
            assertThat(columns.schema().findField(column)).as("column %s", column).isNotNull();
            return row.getField(column);
        }

        /** Each added column, as {@code name} or, when it is renamed, {@code name <- its doc}. */
        List<String> added() {
            return changes.additions().stream().map(a -> a.doc() == null ? a.column() : a.column() + " <- " + a.doc()).toList();
        }
    }

    private static Landed land(RawSchema.Columns columns, String event, Map<String, String> declared) throws Exception {
        RawSchema.Changes changes = RawSchema.changesFor(columns, json(event), declared);
        RawSchema.Columns after = changes.isEmpty() ? columns : RawSchema.Columns.of(RawSchema.evolved(columns.schema(), changes));
        return new Landed(changes, after, RawSchema.toRecord(after, json(event), 0, 0, OffsetDateTime.now()));
    }

    private static Landed land(RawSchema.Columns columns, String event) throws Exception {
        return land(columns, event, Map.of());
    }

    @Test
    void ecsStyleDottedFieldsLandInColumnsWithUnderscoresWhoseDocNamesTheField() throws Exception {
        Landed ecs = land(initial(), "{\"@timestamp\":\"2026-11-21T10:00:00Z\",\"log.level\":\"error\","
                + "\"http.request.method\":\"GET\",\"http.response.status_code\":200,\"message\":\"boom\"}");
        assertThat(ecs.added()).containsExactly("@timestamp", "log_level <- Event field \"log.level\"",
                "http_request_method <- Event field \"http.request.method\"",
                "http_response_status_code <- Event field \"http.response.status_code\"", "message");
        assertThat(ecs.columns().column("http.response.status_code").type()).isEqualTo(Types.IntegerType.get());
        assertThat(List.of(ecs.value("@timestamp"), ecs.value("log_level"), ecs.value("http_request_method"),
                ecs.value("http_response_status_code"), ecs.value("message")))
                .containsExactly("2026-11-21T10:00:00Z", "error", "GET", 200, "boom");

        Landed next = land(ecs.columns(), "{\"log.level\":\"warn\",\"http.response.status_code\":404}");
        assertThat(next.changes().isEmpty()).as("the next event finds its columns by their docs").isTrue();
        assertThat(List.of(next.value("log_level"), next.value("http_response_status_code"))).containsExactly("warn", 404);
    }

    @Test
    void kubernetesLabelsLoseTheirDotsAndKeepTheirSlash() throws Exception {
        Landed labels = land(initial(), "{\"app.kubernetes.io/name\":\"checkout\",\"app.kubernetes.io/instance\":\"checkout-7f9\","
                + "\"pod-template-hash\":\"7f9c\"}");
        assertThat(labels.added()).containsExactly("app_kubernetes_io/name <- Event field \"app.kubernetes.io/name\"",
                "app_kubernetes_io/instance <- Event field \"app.kubernetes.io/instance\"", "pod-template-hash");
        assertThat(List.of(labels.value("app_kubernetes_io/name"), labels.value("app_kubernetes_io/instance"),
                labels.value("pod-template-hash"))).containsExactly("checkout", "checkout-7f9", "7f9c");
    }

    @Test
    void aFieldThatDiffersOnlyInCaseFromAColumnGetsAColumnOfItsOwn() throws Exception {
        Landed both = land(withColumn("user", Types.StringType.get()), "{\"user\":\"ann\",\"User\":\"ANN\"}");
        assertThat(both.added()).containsExactly("User_2 <- Event field \"User\"");
        assertThat(List.of(both.value("user"), both.value("User_2"))).containsExactly("ann", "ANN");

        Landed later = land(both.columns(), "{\"USER\":1}");
        assertThat(later.added()).containsExactly("USER_3 <- Event field \"USER\"");
        assertThat(later.value("USER_3")).isEqualTo(1);
    }

    @Test
    void aRealUnderscoredFieldAndItsDottedTwinNeverShareAColumnWhicheverComesFirst() throws Exception {
        Landed realFirst = land(land(initial(), "{\"http_status\":\"OK\"}").columns(), "{\"http.status\":200}");
        assertThat(realFirst.added()).containsExactly("http_status_2 <- Event field \"http.status\"");
        assertThat(realFirst.value("http_status_2")).isEqualTo(200);

        Landed dottedFirst = land(land(initial(), "{\"http.status\":200}").columns(), "{\"http_status\":\"OK\",\"http.status\":404}");
        assertThat(dottedFirst.added()).containsExactly("http_status_2 <- Event field \"http_status\"");
        assertThat(List.of(dottedFirst.value("http_status"), dottedFirst.value("http_status_2"))).containsExactly(404, "OK");
    }

    @Test
    void fieldsOfOneEventThatWouldShareANameGetOneEachAndOwnNamesComeFirst() throws Exception {
        Landed one = land(initial(), "{\"http.status\":1,\"Http_Status\":2,\"http_status\":3,\"a.b\":4,\"a_b\":5}");
        assertThat(one.added()).containsExactly("http_status_2 <- Event field \"http.status\"", "Http_Status",
                "http_status_3 <- Event field \"http_status\"", "a_b_2 <- Event field \"a.b\"", "a_b");
        assertThat(List.of(one.value("http_status_2"), one.value("Http_Status"), one.value("http_status_3"), one.value("a_b_2"),
                one.value("a_b"))).containsExactly(1, 2, 3, 4, 5);
    }

    @Test
    void declaredTypesApplyToFieldsByTheirOwnNamesAndTheirColumnsFollowTheSameRule() throws Exception {
        Map<String, String> declared = new LinkedHashMap<>();
        declared.put("http.status", "long");
        declared.put("User", "string");
        declared.put("user", "string");
        Schema schema = RawSchema.withDeclared(RawSchema.initial(), declared);
        assertThat(schema.columns().stream().skip(3).map(c -> c.name() + " " + c.type() + (c.doc() == null ? "" : " <- " + c.doc())))
                .containsExactly("http_status long <- Event field \"http.status\"", "User string", "user_2 string <- Event field \"user\"");

        Landed event = land(RawSchema.Columns.of(schema), "{\"http.status\":200,\"user\":\"ann\"}", declared);
        assertThat(event.changes().isEmpty()).isTrue();
        assertThat(List.of(event.value("http_status"), event.value("user_2"))).containsExactly(200L, "ann");
        assertThatThrownBy(() -> land(RawSchema.Columns.of(schema), "{\"http.status\":2.5}", declared))
                .as("a declared type does not widen").hasMessageContaining("field 'http.status': column is declared long");

        Landed inferred = land(initial(), "{\"latency.ms\":3}", Map.of("latency.ms", "double"));
        assertThat(inferred.columns().column("latency.ms").type()).isEqualTo(Types.DoubleType.get());
    }

    @Test
    void aWidenedRenamedColumnKeepsTheDocThatNamesItsField() throws Exception {
        Landed first = land(initial(), "{\"bytes.sent\":1}");
        Landed wider = land(first.columns(), "{\"bytes.sent\":3000000000}");
        assertThat(wider.changes().widenToLong()).containsExactly("bytes_sent");
        assertThat(wider.columns().column("bytes.sent").type()).isEqualTo(Types.LongType.get());
        Landed fraction = land(wider.columns(), "{\"bytes.sent\":0.5}");
        assertThat(fraction.changes().widenToDouble()).containsExactly("bytes_sent");
        assertThat(fraction.columns().column("bytes.sent").doc()).isEqualTo("Event field \"bytes.sent\"");
    }

    @Test
    void fieldsNamedLikeProvenanceColumnsStayRefusedInAnyCaseButTheirOwn() throws Exception {
        assertThatThrownBy(() -> land(initial(), "{\"_ingested_at\":1}")).hasMessageContaining("reserved column name");
        assertThat(land(initial(), "{\"_Offset\":1}").added()).containsExactly("_Offset_2 <- Event field \"_Offset\"");
    }

    @Test
    void offsetsRoundTripThroughTheSnapshotSummaryFormat() {
        Map<Integer, Long> offsets = Map.of(0, 1200L, 1, 1187L, 10, 5L);
        assertThat(CommittedOffsets.encode(offsets)).isEqualTo("0:1200,1:1187,10:5");
        assertThat(CommittedOffsets.decode("0:1200,1:1187,10:5")).isEqualTo(offsets);
        assertThat(CommittedOffsets.decode("")).isEmpty();
    }

    @Test
    void readersThatMetCollidingFieldsInAnotherOrderDisagree() throws Exception {
        // the writer met "level" first, a reader of the tail "Level" first: each named the other's field with _2
        RawSchema.Columns writer = RawSchema.Columns.of(RawSchema.evolved(RawSchema.initial(),
                RawSchema.changesFor(initial(), json("{\"level\":\"info\",\"Level\":\"INFO\"}"), Map.of())));
        RawSchema.Columns tail = RawSchema.Columns.of(RawSchema.evolved(RawSchema.initial(),
                RawSchema.changesFor(initial(), json("{\"Level\":\"INFO\",\"level\":\"info\"}"), Map.of())));
        assertThat(writer.column("Level").name()).isEqualTo("Level_2");
        assertThat(tail.column("level").name()).isEqualTo("level_2");
        assertThat(tail.agreesWith(writer)).isFalse();
        assertThat(writer.agreesWith(writer)).isTrue();
        // a tail that knows only some of the writer's fields, under the same names, agrees
        RawSchema.Columns partial = RawSchema.Columns.of(RawSchema.evolved(RawSchema.initial(),
                RawSchema.changesFor(initial(), json("{\"level\":\"info\",\"msg\":\"x\"}"), Map.of())));
        assertThat(partial.agreesWith(writer)).isTrue();
    }
}
