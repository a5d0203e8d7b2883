package io.watershed.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.QueryEngine.QueryResult;
import io.watershed.spi.Settings;
import io.watershed.spi.WatershedException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** {@code POST /v1/sql}: a query over the lake and the live tail, as JSON or CSV, at most {@code query.max_rows} rows. */
final class SqlApi implements Routes {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final QueryEngine query;
    private final Settings.Query settings;

    SqlApi(QueryEngine query, Settings.Query settings) {
        this.query = query;
        this.settings = settings;
    }

    @Override
    public void register(Javalin app) {
        app.post("/v1/sql", this::sql);
    }

    private void sql(Context ctx) throws Exception {
        String sql;
        try {
            sql = JSON.readTree(ctx.bodyInputStream()).path("sql").asText(null);
        } catch (Exception e) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot read the request: send JSON like {\"sql\": \"SELECT 1\"}", e);
        }
        if (sql == null) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot run a query: the body has no \"sql\" field");
        }
        ctx.attribute(AuditLog.ACTION, "query");
        ctx.attribute(AuditLog.DETAIL, sql.length() > 10_000 ? sql.substring(0, 10_000) + "..." : sql);
        QueryResult result = query.query(sql, settings.maxRows(), Authorization.principal(ctx));
        ctx.attribute(AuditLog.TABLES, String.join(",", result.tables()));
        String accept = Optional.ofNullable(ctx.header("Accept")).orElse("");
        if (accept.contains("text/csv")) {
            if (result.truncated()) {
                ctx.header("X-Watershed-Truncated", "true");
            }
            ctx.contentType("text/csv; charset=utf-8").result(Csv.write(result));
            return;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("columns", result.columns());
        body.put("types", result.types());
        body.put("rows", result.rows());
        body.put("truncated", result.truncated());
        if (result.truncated()) {
            body.put("note", "Only the first " + settings.maxRows() + " rows are returned (query.max_rows); "
                    + "add LIMIT/OFFSET or aggregate to see the rest");
        }
        body.put("elapsed_ms", result.elapsedMillis());
        ctx.json(body);
    }
}
