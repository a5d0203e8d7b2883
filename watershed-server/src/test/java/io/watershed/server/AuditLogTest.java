package io.watershed.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.watershed.access.Principal;
import io.watershed.spi.MemoryBus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What the audit log publishes, read back from what it handed the bus (a list here, Kafka in the platform). */
class AuditLogTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads back what the audit log published; its logic is under test, not Kafka. */
    static final class Published {
        final MemoryBus bus = new MemoryBus();

        List<JsonNode> rows() {
            return bus.events(AuditLog.STREAM).stream().map(e -> {
                try {
                    return JSON.readTree(e.value());
                } catch (java.io.IOException x) {
                    throw new java.io.UncheckedIOException(x);
                }
            }).toList();
        }

        List<String> lines() {
            return rows().stream().map(r -> r.path("action").asText() + " " + r.path("path").asText() + " " + r.path("detail").asText("-")
                    + " x" + r.path("count").asLong()).toList();
        }
    }

    @Test
    void aReadIsRecordedAtOnceTheFirstTimeAndItsRepeatsAreCountedInOneRecordWhenTheMinuteEnds() {
        Published bus = new Published();
        Instant t0 = Instant.parse("2026-11-23T10:00:00Z");
        Principal ana = new Principal("ana", "wst_abc", Set.of(), List.of(), Optional.empty(), 10);
        AuditLog audit = new AuditLog(bus.bus, Clock.fixed(t0, ZoneOffset.UTC), new SimpleMeterRegistry(), Duration.ofHours(1));
        for (int i = 0; i < 30; i++) { // the overview polling
            audit.read(ana, "GET /v1/streams", "GET", "/v1/streams", null, 200, null, null, "127.0.0.1");
        }
        for (int i = 0; i < 3; i++) { // a live tail
            audit.read(ana, "query", "POST", "/v1/sql", null, 200, "SELECT * FROM raw.clicks LIMIT 20", "raw.clicks", "127.0.0.1");
        }
        audit.read(ana, "query", "POST", "/v1/sql", null, 200, "SELECT count(*) FROM raw.clicks", "raw.clicks", "127.0.0.1");
        audit.record(ana, "grant", "POST", "/v1/access/grants", "role:x", 201, null, null, "127.0.0.1");
        audit.record(ana, "grant", "POST", "/v1/access/grants", "role:x", 201, null, null, "127.0.0.1");
        // each distinct read once, at once; every change always
        assertThat(bus.lines()).containsExactly("GET /v1/streams /v1/streams - x1", "query /v1/sql SELECT * FROM raw.clicks LIMIT 20 x1",
                "query /v1/sql SELECT count(*) FROM raw.clicks x1", "grant /v1/access/grants - x1", "grant /v1/access/grants - x1");

        audit.flush(); // what a minute's end publishes: the repeats, counted; a read made once has nothing more to say
        assertThat(bus.lines().subList(5, bus.lines().size())).containsExactlyInAnyOrder("GET /v1/streams /v1/streams - x29",
                "query /v1/sql SELECT * FROM raw.clicks LIMIT 20 x2");
        assertThat(bus.rows().get(5).path("user").asText()).isEqualTo("ana");
        assertThat(bus.rows().get(5).path("token").asText()).isEqualTo("wst_abc");
        assertThat(bus.rows().get(5).path("at").asText()).isEqualTo(t0.toString()); // the summary's time (the clock is fixed)

        // the next minute starts afresh: its first read is recorded at once again, and closing publishes what is left
        audit.read(ana, "GET /v1/streams", "GET", "/v1/streams", null, 200, null, null, "127.0.0.1");
        audit.read(ana, "GET /v1/streams", "GET", "/v1/streams", null, 200, null, null, "127.0.0.1");
        assertThat(bus.lines()).hasSize(8).last().isEqualTo("GET /v1/streams /v1/streams - x1");
        audit.close();
        assertThat(bus.lines()).hasSize(9).last().isEqualTo("GET /v1/streams /v1/streams - x1");
    }

    @Test
    void pastTenThousandDistinctReadsInAMinuteEachFurtherReadIsRecordedOnItsOwn() {
        Published bus = new Published();
        Principal ana = new Principal("ana", "wst_abc", Set.of(), List.of(), Optional.empty(), 10);
        AuditLog audit = new AuditLog(bus.bus, Clock.systemUTC(), new SimpleMeterRegistry(), Duration.ofHours(1));
        for (int i = 0; i < AuditLog.MAX_DISTINCT_READS + 5; i++) {
            audit.read(ana, "query", "POST", "/v1/sql", null, 200, "SELECT " + i, null, null);
        }
        String last = "SELECT " + (AuditLog.MAX_DISTINCT_READS + 4);
        audit.read(ana, "query", "POST", "/v1/sql", null, 200, last, null, null);
        assertThat(bus.rows()).hasSize(AuditLog.MAX_DISTINCT_READS + 6); // each, and the repeat of one not kept
        audit.read(ana, "query", "POST", "/v1/sql", null, 200, "SELECT 0", null, null); // kept: counted
        audit.close();
        assertThat(bus.lines().get(bus.lines().size() - 1)).isEqualTo("query /v1/sql SELECT 0 x1");
        assertThat(bus.rows()).hasSize(AuditLog.MAX_DISTINCT_READS + 7);
    }
}
