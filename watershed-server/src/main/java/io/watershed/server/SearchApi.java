package io.watershed.server;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.watershed.access.Principal;
import io.watershed.search.SearchRequest;
import io.watershed.search.SearchResult;
import io.watershed.search.SearchService;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.FieldColumns;
import io.watershed.spi.SettingType;
import io.watershed.spi.WatershedException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * {@code GET /v1/search}: full-text search of a stream's search index. Who may search a stream is who may read its raw
 * table with SQL; a grant limited to some columns hides the other fields from sources, highlights, top values and the
 * fields a word without a field name searches, and a query naming such a field is refused.
 */
final class SearchApi implements Routes {
    private final SearchService search;
    private final Clock clock;

    SearchApi(SearchService search, Clock clock) {
        this.search = search;
        this.clock = clock;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/search", this::search);
    }

    private void search(Context ctx) {
        long started = System.nanoTime();
        String stream = ctx.queryParam("stream");
        if (stream == null || stream.isBlank()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot search: name the stream, e.g. /v1/search?stream=logs&q=error");
        }
        String query = Optional.ofNullable(ctx.queryParam("q")).orElse("");
        AuditLog.note(ctx, "search", "stream:" + stream, query.length() > 10_000 ? query.substring(0, 10_000) + "..." : query);
        Principal principal = Authorization.principal(ctx);
        String table = "raw." + stream;
        ctx.attribute(AuditLog.TABLES, table);
        Predicate<String> visible = visibleFields(principal, table).orElseThrow(() -> new WatershedException(ErrorCode.FORBIDDEN,
                "Cannot search stream '" + stream + "': user '" + principal.user() + "' may not read " + table + ", and a search "
                        + "reads what the table holds. An admin can grant it: watershed access grant <role> read table:" + table));
        Optional<Long> from = time(ctx, "from");
        Optional<Long> to = time(ctx, "to");
        String since = ctx.queryParam("since");
        if (since != null && !since.isBlank()) {
            if (from.isPresent()) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot search stream '" + stream + "': give since or from, not both");
            }
            try {
                from = Optional.of(clock.millis() - SettingType.duration(since.strip()).toMillis());
            } catch (IllegalArgumentException e) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot search stream '" + stream + "': since " + e.getMessage());
            }
        }
        int limit = 50;
        String limitText = ctx.queryParam("limit");
        if (limitText != null && !limitText.isBlank()) {
            try {
                limit = Integer.parseInt(limitText.strip());
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 0 || limit > SearchRequest.MAX_LIMIT) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot search stream '" + stream + "': limit must be a number "
                        + "from 0 to " + SearchRequest.MAX_LIMIT + ", got '" + limitText + "'");
            }
        }
        List<String> top = new ArrayList<>();
        String topText = ctx.queryParam("top");
        if (topText != null) {
            for (String field : topText.split(",")) {
                if (!field.isBlank()) {
                    top.add(field.strip());
                }
            }
        }
        SearchResult result = search.search(stream, new SearchRequest(query, from, to, limit, top, visible));
        ctx.json(json(stream, table, result, System.nanoTime() - started));
    }

    /** The event fields of the stream whose raw table is {@code table} that the principal may read; empty when it may read none. */
    static Optional<Predicate<String>> visibleFields(Principal principal, String table) {
        return principal.columns(table).map(granted -> granted.isEmpty() ? f -> true
                : f -> granted.contains(FieldColumns.folded(f.replace('.', '_'))));
    }

    private static Optional<Long> time(Context ctx, String name) {
        String text = ctx.queryParam(name);
        if (text == null || text.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Long.parseLong(text.strip()));
        } catch (NumberFormatException notMillis) {
            try {
                return Optional.of(Instant.parse(text.strip()).toEpochMilli());
            } catch (java.time.format.DateTimeParseException e) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot search: " + name + " must be an ISO-8601 time such as "
                        + "2026-01-31T12:00:00Z or epoch milliseconds, got '" + text + "'");
            }
        }
    }

    static Map<String, Object> json(String stream, String table, SearchResult result, long elapsedNanos) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("stream", stream);
        body.put("total", result.total());
        List<Map<String, Object>> hits = new ArrayList<>();
        for (SearchResult.Hit hit : result.hits()) {
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("partition", hit.partition());
            h.put("offset", hit.offset());
            h.put("time", Instant.ofEpochMilli(hit.time()).toString());
            h.put("lake", Map.of("table", table, "_partition", hit.partition(), "_offset", hit.offset()));
            h.put("source", hit.source());
            h.put("highlights", hit.highlights());
            hits.add(h);
        }
        body.put("hits", hits);
        body.put("interval_ms", result.intervalMillis());
        body.put("histogram", result.histogram().stream()
                .map(b -> Map.<String, Object>of("start", Instant.ofEpochMilli(b.start()).toString(), "count", b.count())).toList());
        Map<String, Object> top = new LinkedHashMap<>();
        result.top().forEach((field, values) -> top.put(field, values.stream()
                .map(v -> Map.<String, Object>of("value", v.value(), "count", v.count())).toList()));
        body.put("top", top);
        body.put("elapsed_ms", elapsedNanos / 1_000_000);
        return body;
    }
}
