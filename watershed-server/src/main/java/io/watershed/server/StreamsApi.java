package io.watershed.server;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.watershed.ingest.IngestResult;
import io.watershed.ingest.IngestService;
import io.watershed.lake.LakeUpkeep;
import io.watershed.spi.SearchSpec;
import io.watershed.spi.StreamSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The streams: what each holds and how far its lake writer is behind ({@code GET /v1/streams}), and the HTTP ingest
 * path ({@code POST /v1/streams/{stream}/events}), whose successful requests the audit log sums.
 */
final class StreamsApi implements Routes {
    private final StreamCatalog streams;
    private final Set<String> declared;
    private final StreamRates rates;
    private final LakeBacklog backlog;
    private final LakeUpkeep upkeep;
    private final IngestService ingest;
    private final AuditLog audit;
    private final io.watershed.search.SearchService search;

    /**
     * @param declared the streams the project's files declare (the others were created on first use)
     */
    StreamsApi(StreamCatalog streams, Set<String> declared, StreamRates rates, LakeBacklog backlog, LakeUpkeep upkeep,
            IngestService ingest, AuditLog audit, io.watershed.search.SearchService search) {
        this.search = search;
        this.streams = streams;
        this.declared = Set.copyOf(declared);
        this.rates = rates;
        this.backlog = backlog;
        this.upkeep = upkeep;
        this.ingest = ingest;
        this.audit = audit;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/streams", this::listStreams);
        app.post("/v1/streams/{stream}/events", this::ingest);
    }

    private void listStreams(Context ctx) {
        Map<String, LakeUpkeep.TableStats> tables = new LinkedHashMap<>();
        upkeep.stats(streams.rawTables()).forEach(t -> tables.put(t.table(), t));
        List<Map<String, Object>> out = new ArrayList<>();
        io.watershed.access.Principal principal = Authorization.principal(ctx);
        boolean admin = principal.admin();
        for (StreamSpec s : streams.streams()) {
            boolean system = s.name().startsWith(AuditLog.RESERVED_PREFIX);
            if (system && !admin) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", s.name());
            m.put("system", system);
            m.put("partitions", s.partitions());
            m.put("table", s.rawTable());
            m.put("dead_letter_table", s.rawTable() + "__dlq");
            m.put("lake_lag", backlog.of(s.name()));
            m.put("events_per_second", Math.round(rates.perSecond(s.name()) * 10) / 10.0);
            m.put("rate_history", rates.history(s.name()));
            LakeUpkeep.TableStats table = tables.get(s.rawTable());
            LakeUpkeep.TableStats deadLetters = tables.get(s.rawTable() + "__dlq");
            m.put("rows", table == null ? 0 : table.rows());
            m.put("dead_letters", deadLetters == null ? 0 : deadLetters.rows());
            m.put("last_commit_at", table == null ? null : table.lastCommit().map(Object::toString).orElse(null));
            m.put("retention_overdue", upkeep.retentionOverdue(s.name()));
            m.put("declared", declared.contains(s.name()));
            m.put("search", search.stats(s.name()).map(i -> {
                Map<String, Object> index = new LinkedHashMap<>();
                index.put("documents", i.documents());
                index.put("bytes", i.bytes());
                index.put("lag", i.lag());
                index.put("slices", i.slices());
                // what a search page offers: the searched fields the caller may read (none without a read grant)
                Predicate<String> visible = SearchApi.visibleFields(principal, s.rawTable()).orElse(f -> false);
                SearchSpec spec = s.search().orElseThrow();
                index.put("text", spec.text().stream().filter(visible).toList());
                index.put("keywords", spec.keywords().stream().filter(visible).toList());
                return index;
            }).orElse(null));
            out.add(m);
        }
        out.sort((a, b) -> ((String) a.get("name")).compareTo((String) b.get("name")));
        ctx.json(Map.of("streams", out));
    }

    private void ingest(Context ctx) throws Exception {
        ingest.checkDeclaredLength(ctx.pathParam("stream"), ctx.req().getContentLengthLong());
        Optional<String> idempotencyKey = Optional.ofNullable(ctx.header("Idempotency-Key")).filter(k -> !k.isBlank());
        ctx.attribute(AuditLog.OBJECT, "stream:" + ctx.pathParam("stream"));
        IngestResult result = ingest.ingest(ctx.pathParam("stream"), ctx.req().getInputStream(),
                ctx.header("Content-Encoding"), idempotencyKey);
        if (result.replayed()) {
            ctx.header("Idempotent-Replayed", "true");
        }
        ctx.json(Map.of("accepted", result.accepted()));
        audit.ingested(Authorization.principal(ctx), ctx.pathParam("stream"), result.accepted());
    }
}
