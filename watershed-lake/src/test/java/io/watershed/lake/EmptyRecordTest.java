package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.watershed.spi.MemoryBus;
import io.watershed.spi.BusRecordKind;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.LakeTail;
import io.watershed.spi.StreamSpec;
import io.watershed.testing.Await;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A record without a value ({@link BusRecordKind#EMPTY}) is never dropped quietly: the raw writer dead-letters it, the
 * fresh tail leaves it out as it leaves out every record the writer dead-letters, and {@code state.<stream>} counts it as
 * skipped. The lake's readers on a bus in memory and a real Iceberg catalog.
 */
class EmptyRecordTest {
    private static final Duration COMMIT_INTERVAL = Duration.ofMillis(100);

    @TempDir
    Path dir;

    @Test
    void aRecordWithoutValueIsDeadLetteredLeftOutOfTheTailAndCountedAsSkippedByTheStateTable() throws Exception {
        StreamSpec stream = new StreamSpec("orders", 1, Optional.of("id"), Optional.empty(), StreamSpec.DEFAULT_LATENESS,
                Optional.empty(), Map.of());
        MemoryBus bus = new MemoryBus();
        bus.append("orders", 0, json("{\"id\":1,\"item\":\"tea\"}"));
        bus.append("orders", 0, null);
        bus.append("orders", 0, json("{\"id\":2,\"item\":\"cake\"}"));
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (IcebergLake lake = new IcebergLake(dir)) {
            StreamLakeWriter raw = new StreamLakeWriter(stream, lake, bus, COMMIT_INTERVAL, 128L << 20, meters);
            StateTableWriter state = new StateTableWriter(stream, lake, bus, COMMIT_INTERVAL, 128L << 20, meters);
            new Thread(raw, "lake-writer-orders").start();
            new Thread(state, "state-writer-orders").start();
            Await.until("the raw writer to commit the three records", Duration.ofSeconds(30), () -> raw.committedTotal() == 3);
            Await.until("the state table", Duration.ofSeconds(30),
                    () -> lake.catalog().tableExists(TableIdentifier.of(StateTableWriter.STATE, "orders"))
                    && CommittedOffsets.of(lake.catalog().loadTable(TableIdentifier.of(StateTableWriter.STATE, "orders")))
                            .equals(Map.of(0, 3L)));
            assertThat(raw.stop(Duration.ofSeconds(30))).isTrue();
            assertThat(state.stop(Duration.ofSeconds(30))).isTrue();

            assertThat(offsets(table(lake, "raw", "orders"))).containsExactlyInAnyOrder(0L, 2L);
            List<Record> deadLetters = rows(table(lake, "raw", "orders" + IcebergLake.DEAD_LETTER_SUFFIX));
            assertThat(deadLetters).singleElement().satisfies(row -> {
                assertThat(row.getField(RawSchema.OFFSET)).isEqualTo(1L);
                assertThat(row.getField("raw")).isNull();
                assertThat(row.getField("reason")).isEqualTo("the record is not a JSON object (null value)");
            });
            assertThat(meters.counter("watershed.lake.dlq.rows", "stream", "orders").count()).isEqualTo(1);

            assertThat(offsets(table(lake, "state", "orders"))).containsExactlyInAnyOrder(0L, 2L);
            assertThat(meters.counter("watershed.state.skipped", "stream", "orders").count())
                    .as("the state table counts what it does not apply").isEqualTo(1);

            try (RawTail tail = new RawTail(lake, bus)) {
                tail.add(stream);
                LakeTableView before = new LakeTableView("raw", "orders", 0, List.of(), List.of(), Map.of(0, 0L));
                LakeTail.Tail answer = tail.read(List.of(new LakeTail.Request(before, 0, 0))).get(0);
                int offset = columnIndex(answer, RawSchema.OFFSET);
                assertThat(answer.rows()).extracting(row -> row[offset])
                        .as("the tail holds what the raw table does: the empty record is left out").containsExactly(0L, 2L);
            }
        }
    }

    private static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static Table table(IcebergLake lake, String namespace, String name) {
        return lake.catalog().loadTable(TableIdentifier.of(namespace, name));
    }

    private static List<Record> rows(Table table) throws java.io.IOException {
        List<Record> rows = new ArrayList<>();
        try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
            records.forEach(r -> rows.add(r.copy()));
        }
        return rows;
    }

    private static List<Object> offsets(Table table) throws java.io.IOException {
        return rows(table).stream().map(r -> r.getField(RawSchema.OFFSET)).toList();
    }

    private static int columnIndex(LakeTail.Tail tail, String name) {
        for (int i = 0; i < tail.columns().size(); i++) {
            if (tail.columns().get(i).name().equals(name)) {
                return i;
            }
        }
        throw new AssertionError("no column " + name + " in " + tail.columns());
    }
}
