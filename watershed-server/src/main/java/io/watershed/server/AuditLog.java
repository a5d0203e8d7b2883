package io.watershed.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.watershed.access.Principal;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who did what, and when: one record per API call (its user, token, action, object, status; a query's text and
 * tables), per refused token, per change of users, roles, grants and tokens, and per model run or pipeline change.
 * Records go to the platform's own stream {@code watershed_audit}, so the lake writer lands them exactly once in the
 * append-only table {@code raw.watershed_audit}, which only admins can read. Nobody can write that stream but the
 * platform. Successful ingest requests are summed per token and stream and recorded once a minute, so collecting
 * events does not double the bus's load.
 */
final class AuditLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String STREAM = "watershed_audit";
    /** Streams named so are the platform's own. */
    static final String RESERVED_PREFIX = "watershed_";

    private final EventBus bus;
    private final Clock clock;
    private final Counter failures;
    private final Map<List<String>, AtomicLong> ingested = new ConcurrentHashMap<>();
    private final ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "audit-ingest-summary");
        t.setDaemon(true);
        return t;
    });

    static StreamSpec stream() {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String f : List.of("user", "token", "action", "method", "path", "object", "detail", "tables", "remote")) {
            fields.put(f, "string");
        }
        fields.put("at", "timestamp");
        fields.put("status", "int");
        fields.put("count", "long");
        return new StreamSpec(STREAM, 1, Optional.of("user"), Optional.of("at"), StreamSpec.DEFAULT_LATENESS, Optional.empty(), fields);
    }

    AuditLog(EventBus bus, Clock clock, MeterRegistry meters, Duration summaryEvery) {
        this.bus = bus;
        this.clock = clock;
        this.failures = Counter.builder("watershed_audit_failures_total")
                .description("Audit records the bus did not acknowledge (each is also logged at ERROR)").register(meters);
        flusher.scheduleWithFixedDelay(this::flushIngested, summaryEvery.toMillis(), summaryEvery.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One record; {@code principal} may be null (no or a refused token). */
    void record(Principal principal, String action, String method, String path, String object, int status, String detail,
            String tables, String remote) {
        publish(row(principal == null ? null : principal.user(), principal == null ? null : principal.tokenId(), action, method, path,
                object, status, detail, tables, remote, 1L));
    }

    private Map<String, Object> row(String user, String token, String action, String method, String path, String object, int status,
            String detail, String tables, String remote, long count) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("at", clock.instant().toString());
        row.put("user", user);
        row.put("token", token);
        row.put("action", action);
        row.put("method", method);
        row.put("path", path);
        row.put("object", object);
        row.put("status", status);
        row.put("detail", detail);
        row.put("tables", tables);
        row.put("remote", remote);
        row.put("count", count);
        return row;
    }

    /** A successful ingest request: summed, and recorded once per interval per token and stream. */
    void ingested(Principal principal, String stream, int events) {
        ingested.computeIfAbsent(List.of(principal.user(), principal.tokenId(), stream), k -> new AtomicLong()).addAndGet(events);
    }

    private void flushIngested() {
        for (Map.Entry<List<String>, AtomicLong> e : ingested.entrySet()) {
            long events = e.getValue().getAndSet(0);
            if (events == 0) {
                ingested.remove(e.getKey(), e.getValue());
                continue;
            }
            String stream = e.getKey().get(2);
            publish(row(e.getKey().get(0), e.getKey().get(1), "ingest", "POST", "/v1/streams/" + stream + "/events",
                    "stream:" + stream, 200, null, null, null, events));
        }
    }

    private void publish(Map<String, Object> row) {
        try {
            byte[] value = JSON.writeValueAsBytes(row);
            Object user = row.get("user");
            byte[] key = user == null ? null : user.toString().getBytes(StandardCharsets.UTF_8);
            bus.publish(STREAM, List.of(new EventBus.Event(key, value, clock.millis()))).whenComplete((ok, e) -> {
                if (e != null) {
                    failures.increment();
                    LOG.error("Cannot record an audit event ({} {}): {}", row.get("action"), row.get("path"), e.toString());
                }
            });
        } catch (Exception e) {
            failures.increment();
            LOG.error("Cannot record an audit event ({} {}): {}", row.get("action"), row.get("path"), e.toString());
        }
    }

    @Override
    public void close() {
        flusher.shutdown();
        flushIngested();
    }
}
