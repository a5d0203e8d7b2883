package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.LakeTail;
import io.watershed.spi.MemoryBus;
import io.watershed.spi.StreamSpec;
import io.watershed.testing.Await;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Events with dotted and case-twin field names through the real lake writer, a restart of it, the fresh tail and the
 * state table, on a bus in memory and a real Iceberg catalog: every value lands, in the column the table's docs name,
 * and the dead-letter table stays empty.
 */
class DottedFieldNamesTest {
    private static final Duration COMMIT_INTERVAL = Duration.ofMillis(100);
    private static final String STREAM = "logs";

    @TempDir
    Path dir;

    @Test
    void dottedAndCaseTwinFieldsLandInStableColumnsAcrossARestartInTheTailAndTheStateTable() throws Exception {
        StreamSpec stream = new StreamSpec(STREAM, 1, Optional.of("event.id"), Optional.empty(), StreamSpec.DEFAULT_LATENESS,
                Optional.empty(), Map.of());
        MemoryBus bus = new MemoryBus();
        send(bus, "{\"event.id\":\"a\",\"@timestamp\":\"2026-11-21T10:00:00Z\",\"log.level\":\"error\",\"http.response.status_code\":500}");
        send(bus, "{\"event.id\":\"b\",\"app.kubernetes.io/name\":\"checkout\",\"user\":\"ann\",\"User\":\"ANN\"}");
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (IcebergLake lake = new IcebergLake(dir)) {
            runUntilCommitted(new StreamLakeWriter(stream, lake, bus, COMMIT_INTERVAL, 128L << 20, meters), 2);

            // a new writer reads the mapping from the table: the same fields find the same columns; the fraction widens
            // the renamed column to double (a rewrite that must keep its doc) and a real http_response_status_code gets
            // a column of its own
            send(bus, "{\"event.id\":\"a\",\"log.level\":\"warn\",\"http.response.status_code\":0.5,"
                    + "\"http_response_status_code\":\"real\",\"User\":\"ANNE\"}");
            runUntilCommitted(new StreamLakeWriter(stream, lake, bus, COMMIT_INTERVAL, 128L << 20, meters), 3);

            Table raw = table(lake, "raw", STREAM);
            assertThat(raw.schema().columns().stream().skip(3)
                    .map(c -> c.name() + " " + c.type() + (c.doc() == null ? "" : " <- " + c.doc()))).containsExactly(
                    "event_id string <- Event field \"event.id\"",
                    "@timestamp string",
                    "log_level string <- Event field \"log.level\"",
                    "app_kubernetes_io/name string <- Event field \"app.kubernetes.io/name\"",
                    "user string",
                    "User_2 string <- Event field \"User\"",
                    "http_response_status_code double <- Event field \"http.response.status_code\"", // replaced as double: last
                    "http_response_status_code_2 string <- Event field \"http_response_status_code\"");
            List<String> columns = List.of("_offset", "event_id", "@timestamp", "log_level", "http_response_status_code",
                    "app_kubernetes_io/name", "user", "User_2", "http_response_status_code_2");
            List<String> expected = List.of(
                    "0 a 2026-11-21T10:00:00Z error 500.0 null null null null",
                    "1 b null null null checkout ann ANN null",
                    "2 a null warn 0.5 null null ANNE real");
            assertThat(rows(raw, columns)).containsExactlyElementsOf(expected);
            assertThat(rows(table(lake, "raw", STREAM + IcebergLake.DEAD_LETTER_SUFFIX), List.of("reason"))).isEmpty();

            try (RawTail tail = new RawTail(lake, bus)) {
                tail.add(stream);
                LakeTableView before = new LakeTableView("raw", STREAM, 0, List.of(), List.of(), Map.of(0, 0L));
                LakeTail.Tail answer = tail.read(List.of(new LakeTail.Request(before, 0, 0))).get(0);
                assertThat(answer.columns()).extracting(LakeTableView.Column::name)
                        .containsExactlyElementsOf(raw.schema().columns().stream().map(Types.NestedField::name).toList());
                assertThat(answer.columns()).filteredOn(c -> c.name().equals("log_level")).extracting(LakeTableView.Column::field)
                        .containsExactly("log.level");
                List<String> tailRows = new ArrayList<>();
                for (Object[] row : answer.rows()) {
                    List<String> values = new ArrayList<>();
                    for (String column : columns) {
                        values.add(String.valueOf(row[index(answer, column)]));
                    }
                    tailRows.add(String.join(" ", values));
                }
                assertThat(tailRows).as("the tail holds what the table does").containsExactlyElementsOf(expected);
            }

            StateTableWriter state = new StateTableWriter(stream, lake, bus, COMMIT_INTERVAL, 128L << 20, meters);
            new Thread(state, "state-writer-" + STREAM).start();
            Await.until("the state table", Duration.ofSeconds(30),
                    () -> lake.catalog().tableExists(TableIdentifier.of(StateTableWriter.STATE, STREAM))
                    && CommittedOffsets.of(table(lake, "state", STREAM)).equals(Map.of(0, 3L)));
            assertThat(state.stop(Duration.ofSeconds(30))).isTrue();
            assertThat(rows(table(lake, "state", STREAM), List.of("event_id", "log_level", "user", "User_2")))
                    .as("one row per event.id, the last change of each").containsExactly("a warn null ANNE", "b null ann ANN");
            assertThat(meters.counter("watershed.state.skipped", "stream", STREAM).count()).isZero();
        }
    }

    private static void send(MemoryBus bus, String event) {
        bus.append(STREAM, 0, event.getBytes(StandardCharsets.UTF_8));
    }

    private static void runUntilCommitted(StreamLakeWriter writer, long records) throws InterruptedException {
        new Thread(writer, "lake-writer-" + STREAM).start();
        Await.until("the raw writer to commit " + records + " records", Duration.ofSeconds(30), () -> writer.committedTotal() == records);
        assertThat(writer.stop(Duration.ofSeconds(30))).isTrue();
    }

    private static Table table(IcebergLake lake, String namespace, String name) {
        return lake.catalog().loadTable(TableIdentifier.of(namespace, name));
    }

    /** Each row as its values in {@code columns}, separated by spaces, in the order of the first column. */
    private static List<String> rows(Table table, List<String> columns) throws java.io.IOException {
        List<String> rows = new ArrayList<>();
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
            for (Record record : records) {
                List<String> values = new ArrayList<>();
                for (String column : columns) {
                    values.add(String.valueOf(record.getField(column)));
                }
                rows.add(String.join(" ", values));
            }
        }
        rows.sort(Comparator.naturalOrder());
        return rows;
    }

    private static int index(LakeTail.Tail tail, String name) {
        for (int i = 0; i < tail.columns().size(); i++) {
            if (tail.columns().get(i).name().equals(name)) {
                return i;
            }
        }
        throw new AssertionError("no column " + name + " in " + tail.columns());
    }
}
