package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Overload and a full disk are refused with Retry-After before anything is acknowledged — never acknowledged and then dropped. */
class RefusalsIT {
    @TempDir
    Path root;

    @Test
    void overloadIsRefusedWith429AndRetryAfterAndEveryAcceptedEventLands() throws Exception {
        try (Platform platform = Platform.start(TestProject.in(root.resolve("p")).ingest("max_in_flight_requests", "1").load(),
                root.resolve("d"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            String body = "{\"v\":1,\"pad\":\"" + "z".repeat(200) + "\"}\n";
            String batch = body.repeat(20_000);
            int clients = 8;
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<WatershedHttp.Response>> responses = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                responses.add(pool.submit(() -> {
                    go.await();
                    return http.events("burst", batch);
                }));
            }
            go.countDown();
            long accepted = 0;
            int refused = 0;
            for (Future<WatershedHttp.Response> f : responses) {
                WatershedHttp.Response r = f.get();
                assertThat(r.status()).as(r.body()).isIn(200, 429);
                if (r.status() == 429) {
                    refused++;
                    assertThat(r.header("Retry-After")).isEqualTo("1");
                    assertThat(r.json().path("error").path("retriable").asBoolean()).isTrue();
                } else {
                    accepted += r.json().path("accepted").asLong();
                }
            }
            pool.shutdown();
            assertThat(refused).as("8 simultaneous 4 MB requests against one slot").isPositive();
            long expected = accepted;
            Await.until(expected + " rows", Duration.ofSeconds(60), () -> http.count("SELECT count(*) FROM raw.burst") == expected);
        }
    }

    /**
     * A stream's topic is created by the request that first writes to it, and that request's many batches go out at once:
     * before the bus waited for the new partitions' leaders, a first batch refused by a broker not yet leader could fall
     * behind the ones after it, stay out of sequence for good and leave the request unacknowledged (503 after 30 s).
     */
    @Test
    void aBurstToAStreamItsOwnRequestCreatesIsAcknowledgedInFull() {
        try (Platform platform = Platform.start(TestProject.in(root.resolve("p3")).load(), root.resolve("d3"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            String batch = ("{\"v\":1,\"pad\":\"" + "z".repeat(200) + "\"}\n").repeat(20_000);
            for (int i = 0; i < 6; i++) {
                WatershedHttp.Response r = http.events("fresh_" + i, batch);
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                assertThat(r.json().path("accepted").asLong()).isEqualTo(20_000);
            }
        }
    }

    @Test
    void fullDiskIsRefusedWith503AndRetryAfter() {
        try (Platform platform = Platform.start(TestProject.in(root.resolve("p2")).ingest("min_free_disk", "1000000TiB").load(),
                root.resolve("d2"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            WatershedHttp.Response r = http.events("anything", "{\"a\":1}");
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.header("Retry-After")).isEqualTo("30");
            assertThat(r.json().path("error").path("message").asText()).contains("free space, then retry");
            assertThat(http.get("/v1/streams").json().path("streams").findValuesAsText("name")).as("nothing was created")
                    .containsExactly("watershed_audit");
        }
    }
}
