package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.spi.Project;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Lambda serving layer: {@code raw.<stream>} is the lake's last commit plus the events the bus
 * holds past it. Ingest runs while the lake writer commits every 200 ms, and every query must return
 * each acknowledged event exactly once, committed or not.
 */
class FreshTailIT {
    @TempDir
    static Path root;

    static Platform platform;
    static WatershedHttp http;

    @BeforeAll
    static void start() {
        Project project = TestProject.in(root.resolve("project"))
                .commitInterval("200ms")
                .yaml("query:\n  max_rows: 200000")
                .stream("ticks", "partitions: 3\nfields:\n  id: long\n")
                .load();
        platform = Platform.start(project, root.resolve("data"));
        http = new WatershedHttp(platform.url(), platform.adminToken());
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    /** Events from id 6000 on carry a field the table does not have yet: the tail adds the column before the lake. */
    private static String expectedTag(long id) {
        return id >= 6000 && id % 3 == 0 ? "t" + id : null;
    }

    @Test
    void everyQueryReturnsEachAcknowledgedEventExactlyOnceWhileCommitsLand() throws Exception {
        Await.until("raw.ticks to exist", Duration.ofSeconds(30), () -> http.sql("SELECT * FROM raw.ticks").status() == 200);
        int queries = 250;
        int batch = 25;
        AtomicLong nextId = new AtomicLong();
        Set<Long> acked = new ConcurrentSkipListSet<>();
        Semaphore batchesAllowed = new Semaphore(0);
        AtomicBoolean done = new AtomicBoolean();
        ExecutorService senders = Executors.newFixedThreadPool(2);
        List<Future<?>> sending = new ArrayList<>();
        for (int s = 0; s < 2; s++) {
            sending.add(senders.submit(() -> {
                while (!done.get()) {
                    if (!batchesAllowed.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                        continue;
                    }
                    long first;
                    StringBuilder body = new StringBuilder();
                    synchronized (nextId) { // ids of one batch are consecutive
                        first = nextId.getAndAdd(batch);
                    }
                    for (long id = first; id < first + batch; id++) {
                        String tag = expectedTag(id);
                        body.append("{\"id\":").append(id).append(",\"n\":").append(id % 1000)
                                .append(tag == null ? "" : ",\"tag\":\"" + tag + "\"").append("}\n");
                    }
                    WatershedHttp.Response response = http.events("ticks", body.toString());
                    if (response.status() != 200) {
                        throw new AssertionError("ingest refused: " + response.status() + " " + response.body());
                    }
                    for (long id = first; id < first + batch; id++) {
                        acked.add(id);
                    }
                }
                return null;
            }));
        }

        Set<Long> committedCounts = new TreeSet<>();
        int queriesWithTail = 0;
        for (int q = 0; q < queries; q++) {
            batchesAllowed.release(4);
            if (q % 2 == 1) {
                // a query that does not name raw.ticks leaves its tail where it was; the next one that does brings it up
                http.count("SELECT count(*) FROM committed.raw.ticks");
            }
            Set<Long> ackedBefore = new HashSet<>(acked);
            // SELECT *: the tag column appears mid-run, first in the tail
            JsonNode result = http.query("SELECT *, (SELECT count(*) FROM committed.raw.ticks) AS committed_rows FROM raw.ticks");
            long sentBy = nextId.get();
            List<String> columns = new ArrayList<>();
            result.path("columns").forEach(c -> columns.add(c.asText()));
            int idColumn = columns.indexOf("id");
            int tagColumn = columns.indexOf("tag");
            int committedColumn = columns.indexOf("committed_rows");
            Set<Long> seen = new HashSet<>();
            long committed = -1;
            for (JsonNode row : result.path("rows")) {
                long id = row.get(idColumn).asLong();
                assertThat(seen.add(id)).as("query %d returned id %d twice", q, id).isTrue();
                assertThat(id).as("query %d returned an id never sent", q).isLessThan(sentBy);
                JsonNode tag = tagColumn < 0 ? null : row.get(tagColumn);
                assertThat(tag == null || tag.isNull() ? null : tag.asText()).as("tag of id %d", id).isEqualTo(expectedTag(id));
                committed = row.get(committedColumn).asLong();
            }
            assertThat(result.path("truncated").asBoolean()).isFalse();
            Set<Long> missing = new TreeSet<>(ackedBefore);
            missing.removeAll(seen);
            assertThat(missing).as("query %d: acknowledged before it began, yet not returned", q).isEmpty();
            if (committed >= 0) {
                committedCounts.add(committed);
                queriesWithTail += seen.size() > committed ? 1 : 0;
            }
        }
        done.set(true);
        for (Future<?> f : sending) {
            f.get(60, TimeUnit.SECONDS);
        }
        senders.shutdown();

        System.out.printf("FreshTailIT: %d events, %d queries, %d distinct committed counts seen, %d queries read a tail%n",
                acked.size(), queries, committedCounts.size(), queriesWithTail);
        assertThat(committedCounts.size()).as("commits landed while the queries ran").isGreaterThanOrEqualTo(5);
        assertThat(queriesWithTail).as("queries that read rows not committed yet").isGreaterThanOrEqualTo(10);

        // once the writer has caught up, the tail is empty and both names agree
        long total = acked.size();
        assertThat(total).isEqualTo(nextId.get());
        Await.until("every event committed", Duration.ofSeconds(60), () -> http.count("SELECT count(*) FROM committed.raw.ticks"),
                c -> c == total);
        assertThat(http.count("SELECT count(*) FROM raw.ticks")).isEqualTo(total);
        assertThat(http.count("SELECT count(DISTINCT id) FROM raw.ticks")).isEqualTo(total);
        assertThat(http.count("SELECT count(tag) FROM committed.raw.ticks"))
                .isEqualTo(java.util.stream.LongStream.range(0, total).filter(id -> expectedTag(id) != null).count());
    }
}
