package io.watershed.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
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
 * tables; repeated reads summed, below), per refused token, per change of users, roles, grants and tokens, and per
 * model run or pipeline change.
 * Records go to the platform's own stream {@code watershed_audit}, so the lake writer lands them exactly once in the
 * append-only table {@code raw.watershed_audit}, which only admins can read. Nobody can write that stream but the
 * platform. Successful ingest requests are summed per token and stream and recorded once a minute, so collecting
 * events does not double the bus's load. A successful read (a GET, a query) is recorded at once the first time a token
 * makes it in a minute; the same read again in that minute (a console page polling, a live tail) is summed into one
 * more record with its count when the minute ends, so the log says who read what without a row per poll. Past
 * {@link #MAX_DISTINCT_READS} distinct reads in a minute, each further one is recorded on its own, so a flood of
 * distinct queries cannot grow the summary without bound.
 */
final class AuditLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String STREAM = "watershed_audit";
    /** Streams named so are the platform's own. */
    static final String RESERVED_PREFIX = "watershed_";
    static final int MAX_DISTINCT_READS = 10_000;
    /** Request attributes a handler sets when the audit record should say more than the route: see {@link #note}. */
    static final String ACTION = "watershed.audit.action";
    static final String OBJECT = "watershed.audit.object";
    static final String DETAIL = "watershed.audit.detail";
    static final String TABLES = "watershed.audit.tables";

    private final EventBus bus;
    private final Clock clock;
    private final Counter failures;
    private final Map<List<String>, AtomicLong> ingested = new ConcurrentHashMap<>();
    /** Reads recorded this interval, by their whole record; the value counts the repeats not yet recorded. */
    private final Map<Read, AtomicLong> reads = new ConcurrentHashMap<>();
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
        flusher.scheduleWithFixedDelay(this::flush, summaryEvery.toMillis(), summaryEvery.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** What the audit record of this request says beyond its route: its action, the object it acts on, a detail. */
    static void note(Context ctx, String action, String object, String detail) {
        ctx.attribute(ACTION, action);
        ctx.attribute(OBJECT, object);
        ctx.attribute(DETAIL, detail);
    }

    /**
     * Records a finished request: every call but health and metrics scrapes; a successful ingest request is summed
     * instead (see {@link #ingested}), and a read repeated within a minute is counted (see {@link #read}).
     */
    void request(Context ctx) {
        String route;
        try {
            route = ctx.endpointHandlerPath();
        } catch (RuntimeException unmatched) {
            route = ctx.path();
        }
        if (route.equals("/v1/health") || route.equals("/metrics") && ctx.status().getCode() < 400 || route.equals("/")
                || route.startsWith(ConsoleApi.CONSOLE_PATH)) { // the console's static files carry no data
            return;
        }
        boolean ingest = route.equals("/v1/streams/{stream}/events");
        if (ingest && ctx.status().getCode() < 300) {
            return;
        }
        Principal principal = ctx.attribute(Authorization.PRINCIPAL);
        String action = ctx.attribute(ACTION);
        if (action == null) {
            action = ctx.status().getCode() == 401 ? "auth.refused" : ingest ? "ingest" : ctx.method() + " " + route;
        }
        String object = ctx.attribute(OBJECT);
        if (object == null && !ctx.pathParamMap().isEmpty()) {
            object = String.join(",", ctx.pathParamMap().values());
        }
        boolean read = ctx.status().getCode() < 300 && (ctx.method() == io.javalin.http.HandlerType.GET || action.equals("query"));
        if (read) {
            read(principal, action, ctx.method().name(), ctx.path(), object, ctx.status().getCode(), ctx.attribute(DETAIL),
                    ctx.attribute(TABLES), ctx.ip());
        } else {
            record(principal, action, ctx.method().name(), ctx.path(), object, ctx.status().getCode(), ctx.attribute(DETAIL),
                    ctx.attribute(TABLES), ctx.ip());
        }
    }

    /** One record; {@code principal} may be null (no or a refused token). */
    void record(Principal principal, String action, String method, String path, String object, int status, String detail,
            String tables, String remote) {
        publish(row(principal == null ? null : principal.user(), principal == null ? null : principal.tokenId(), action, method, path,
                object, status, detail, tables, remote, 1L));
    }

    /**
     * A successful read: recorded now if this token has not made the same read since the last summary, else counted
     * and recorded once, with its count, at the next summary (its {@code at} is then the summary's time).
     */
    void read(Principal principal, String action, String method, String path, String object, int status, String detail, String tables,
            String remote) {
        Read read = new Read(principal == null ? null : principal.user(), principal == null ? null : principal.tokenId(), action, method,
                path, object, status, detail, tables, remote);
        if (reads.size() >= MAX_DISTINCT_READS && !reads.containsKey(read)) {
            publish(read.row(this, 1));
            return;
        }
        boolean[] first = {false};
        reads.compute(read, (k, seen) -> {
            if (seen == null) {
                first[0] = true;
                return new AtomicLong();
            }
            seen.incrementAndGet();
            return seen;
        });
        if (first[0]) {
            publish(read.row(this, 1));
        }
    }

    /** What a read record says, but when and how often. */
    private record Read(String user, String token, String action, String method, String path, String object, int status, String detail,
            String tables, String remote) {
        Map<String, Object> row(AuditLog log, long count) {
            return log.row(user, token, action, method, path, object, status, detail, tables, remote, count);
        }
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

    /** Publishes the interval's summaries: ingest per token and stream, and the reads repeated since the last. */
    void flush() {
        flushIngested();
        for (Read read : List.copyOf(reads.keySet())) {
            AtomicLong repeats = reads.remove(read);
            long n = repeats == null ? 0 : repeats.get();
            if (n > 0) {
                publish(read.row(this, n)); // at: now, like the ingest summaries; the repeats were in the interval before
            }
        }
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
        flush();
    }
}
