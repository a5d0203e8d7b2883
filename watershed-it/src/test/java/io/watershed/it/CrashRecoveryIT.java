package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.testing.Await;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kills the platform with SIGKILL while a client ingests, five times, and checks nothing acknowledged is lost or doubled. */
class CrashRecoveryIT {
    private static final int KILLS = 5;

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path root;

    @Test
    void acknowledgedEventsSurviveRepeatedKillNine() throws Exception {
        Path project = TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 1000000")
                .stream("orders", "partitions: 2\nkey: customer\n").write();
        Path data = root.resolve("data");
        Path log = root.resolve("platform.log");
        Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
        AtomicLong nextId = new AtomicLong();

        for (int kill = 1; kill <= KILLS; kill++) {
            try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
                WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
                AtomicBoolean sending = new AtomicBoolean(true);
                long before = acknowledged.size();
                Thread client = new Thread(() -> ingestUntilStopped(http, sending, nextId, acknowledged), "client");
                client.start();
                // kill at a different point of the commit cycle each time: after some acknowledged batches
                long target = before + 2_000L * kill;
                Await.until("acknowledged events to reach " + target, Duration.ofSeconds(180), () -> acknowledged.size() >= target);
                platform.kill();
                sending.set(false);
                client.join();
            }
        }

        try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            awaitLake(http, log, acknowledged);
            List<Long> ids = new ArrayList<>();
            for (JsonNode row : http.query("SELECT id FROM raw.orders").path("rows")) {
                ids.add(row.get(0).asLong());
            }
            assertThat(new HashSet<>(ids)).as("no event written twice").hasSameSizeAs(ids);
            assertThat(new HashSet<>(ids)).as("every acknowledged event is in the lake").containsAll(acknowledged);
            assertThat(ids.size() - acknowledged.size()).as("only requests cut off by a kill may land unacknowledged")
                    .isLessThanOrEqualTo(KILLS * 4 * 250);
            assertThat(http.count("SELECT count(*) FROM raw.orders__dlq")).isZero();
            assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
        }
    }

    @Test
    void acknowledgedEventsSurviveRepeatedKillNineAndKeyedRetriesWriteOnce() throws Exception {
        Path project = TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 1000000")
                .stream("orders", "partitions: 2\nkey: customer\n").write();
        Path data = root.resolve("data");
        Path log = root.resolve("platform.log");
        Client client = new Client();

        for (int kill = 1; kill <= KILLS; kill++) {
            try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
                WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
                AtomicBoolean sending = new AtomicBoolean(true);
                long target = client.acknowledged.size() + 2_000L * kill;
                Thread sender = new Thread(() -> client.sendUntilStopped(http, sending), "client");
                sender.start();
                // kill at a different point of the commit cycle each time: after more acknowledged batches
                Await.until("acknowledged events to reach " + target, Duration.ofSeconds(180), () -> client.acknowledged.size() >= target);
                platform.kill();
                sending.set(false);
                sender.join();
            }
        }

        try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            client.finishPending(http);
            Set<Long> sent = new HashSet<>();
            for (long id = 0; id < client.nextId; id++) {
                sent.add(id);
            }
            assertThat(client.acknowledged).as("every batch was eventually acknowledged").isEqualTo(sent);
            awaitLake(http, log, sent);
            List<Long> ids = new ArrayList<>();
            for (JsonNode row : http.query("SELECT id FROM raw.orders").path("rows")) {
                ids.add(row.get(0).asLong());
            }
            JsonNode doubled = http.query("SELECT id, list(_partition ORDER BY _offset), list(_offset ORDER BY _offset), "
                    + "list(_ingested_at ORDER BY _offset) FROM raw.orders GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5");
            assertThat(new HashSet<>(ids)).as("no event written twice, even when its batch was retried; doubled (id, partitions, "
                    + "offsets, ingested): " + doubled.path("rows") + "; data in " + root).hasSameSizeAs(ids);
            assertThat(new HashSet<>(ids)).as("every acknowledged event is in the lake, and nothing else").isEqualTo(sent);
            assertThat(client.retries).as("some batches were cut off by a kill and retried").isPositive();
            assertThat(http.count("SELECT count(*) FROM raw.orders__dlq")).isZero();
            assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
        }
    }

    /** Waits for {@code raw.orders} to hold every id; a timeout says what is missing and what the platform logged. */
    private static void awaitLake(WatershedHttp http, Path log, Set<Long> expected) {
        try {
            Await.until("the lake to hold every acknowledged event", Duration.ofSeconds(90), () -> lakeIds(http).containsAll(expected));
        } catch (AssertionError e) {
            String held;
            try {
                Set<Long> missing = new java.util.TreeSet<>(expected);
                missing.removeAll(lakeIds(http));
                held = "raw.orders lacks " + missing.size() + " of " + expected.size() + " acknowledged ids, from "
                        + missing.stream().limit(10).toList() + "; the stream: " + http.get("/v1/streams").body();
            } catch (RuntimeException unreadable) {
                held = "raw.orders cannot be read: " + unreadable;
            }
            throw new AssertionError(e.getMessage() + "; " + held + "\nThe platform's last warnings and errors:\n"
                    + PlatformProcess.problems(log, 80), e.getCause());
        }
    }

    private static Set<Long> lakeIds(WatershedHttp http) {
        Set<Long> ids = new HashSet<>();
        for (JsonNode row : http.query("SELECT id FROM raw.orders").path("rows")) {
            ids.add(row.get(0).asLong());
        }
        return ids;
    }

    /**
     * Sends batches of 250 events, each with its own Idempotency-Key. A batch that gets no answer (the
     * platform was killed mid-request) is retried with the same key against the next incarnation.
     */
    private static final class Client {
        final Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
        volatile long nextId;
        volatile long pendingFirst = -1;
        volatile int retries;

        void sendUntilStopped(WatershedHttp http, AtomicBoolean sending) {
            while (sending.get()) {
                if (!sendOne(http)) {
                    return;
                }
            }
        }

        void finishPending(WatershedHttp http) {
            if (pendingFirst >= 0 && !sendOne(http)) {
                throw new AssertionError("the retried batch was not acknowledged by a healthy platform");
            }
        }

        /** Returns false when the platform did not answer. */
        private boolean sendOne(WatershedHttp http) {
            long first;
            if (pendingFirst >= 0) {
                first = pendingFirst;
                retries++;
            } else {
                first = nextId;
                nextId = first + 250;
                pendingFirst = first;
            }
            StringBuilder body = new StringBuilder();
            for (long id = first; id < first + 250; id++) {
                body.append("{\"id\":").append(id).append(",\"customer\":\"c").append(id % 31).append("\",\"total\":")
                        .append(id % 977).append(".5}\n");
            }
            try {
                WatershedHttp.Response response = http.events("orders", body.toString(), "Idempotency-Key", "batch-" + first);
                while (response.status() == 503 || response.status() == 429) {
                    // as a well-behaved client does: wait as told, then retry with the same key
                    retries++;
                    java.util.concurrent.locks.LockSupport.parkNanos(
                            Duration.ofSeconds(Long.parseLong(response.header("Retry-After"))).toNanos());
                    response = http.events("orders", body.toString(), "Idempotency-Key", "batch-" + first);
                }
                if (response.status() != 200) {
                    throw new AssertionError("unexpected answer " + response.status() + ": " + response.body());
                }
                for (long id = first; id < first + 250; id++) {
                    acknowledged.add(id);
                }
                pendingFirst = -1;
                return true;
            } catch (java.io.UncheckedIOException e) {
                return false; // killed mid-request: not acknowledged, retried later with the same key
            }
        }
    }

    /** Sends batches of 250 from 2 threads' worth of ids; remembers an id only when its batch was acknowledged. */
    private static void ingestUntilStopped(WatershedHttp http, AtomicBoolean sending, AtomicLong nextId, Set<Long> acknowledged) {
        while (sending.get()) {
            long first = nextId.getAndAdd(250);
            StringBuilder body = new StringBuilder();
            for (long id = first; id < first + 250; id++) {
                body.append("{\"id\":").append(id).append(",\"customer\":\"c").append(id % 31).append("\",\"total\":")
                        .append(id % 977).append(".5}\n");
            }
            try {
                WatershedHttp.Response response = http.events("orders", body.toString());
                if (response.status() == 200) {
                    for (long id = first; id < first + 250; id++) {
                        acknowledged.add(id);
                    }
                }
            } catch (RuntimeException e) {
                return; // the platform was killed mid-request: this batch is not acknowledged
            }
        }
    }
}
