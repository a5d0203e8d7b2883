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

    @TempDir
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
                WatershedHttp http = new WatershedHttp(platform.url());
                AtomicBoolean sending = new AtomicBoolean(true);
                long before = acknowledged.size();
                Thread client = new Thread(() -> ingestUntilStopped(http, sending, nextId, acknowledged), "client");
                client.start();
                // kill at a different point of the commit cycle each time: after some acknowledged batches
                long target = before + 2_000L * kill;
                Await.until("acknowledged events to reach " + target, Duration.ofSeconds(90), () -> acknowledged.size() >= target);
                platform.kill();
                sending.set(false);
                client.join();
            }
        }

        try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
            WatershedHttp http = new WatershedHttp(platform.url());
            Await.until("the lake to hold every acknowledged event", Duration.ofSeconds(90),
                    () -> lakeIds(http).containsAll(acknowledged));
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

    private static Set<Long> lakeIds(WatershedHttp http) {
        Set<Long> ids = new HashSet<>();
        for (JsonNode row : http.query("SELECT id FROM raw.orders").path("rows")) {
            ids.add(row.get(0).asLong());
        }
        return ids;
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
