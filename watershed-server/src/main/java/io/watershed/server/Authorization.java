package io.watershed.server;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.watershed.access.AccessStore;
import io.watershed.access.Principal;
import io.watershed.access.Privilege;
import io.watershed.access.RateLimits;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.util.HashMap;
import java.util.Map;

/**
 * Who may call which endpoint. Before any matched handler runs, the bearer token is authenticated (only
 * {@code GET /v1/health} is open), the token's rate limit is taken, and the endpoint's rule is checked. An endpoint
 * without a rule needs the admin role, so a new endpoint is closed until someone says otherwise. Handlers that need
 * more than the route tells (the models a run selects, the tables a query reads) check the principal themselves.
 */
final class Authorization {
    static final String PRINCIPAL = "watershed.principal";
    /** Health, and the way to the console (whose static files are not endpoints: they carry no data). */
    private static final java.util.Set<String> OPEN = java.util.Set.of("GET /v1/health", "GET /",
            "POST " + IcebergCatalogApi.TOKENS); // the Iceberg catalog's OAuth2 exchange: its client secret is the token

    private final AccessStore store;
    private final RateLimits limits = new RateLimits();
    private final Map<String, Rule> rules = new HashMap<>();

    /** A route's check, given the authenticated principal. */
    interface Rule {
        void check(Context ctx, Principal principal);
    }

    /** Any token that may do more than write one stream: listing, querying (the query engine checks the tables). */
    static final Rule GENERAL = (ctx, p) -> {
        if (!p.general()) {
            throw new WatershedException(ErrorCode.FORBIDDEN, "Cannot " + ctx.method() + " " + ctx.path() + " with token "
                    + p.tokenId() + ": it may only write events to stream '" + p.stream().orElse("") + "'");
        }
    };

    Authorization(AccessStore store) {
        this.store = store;
        rule("GET /v1/whoami", (ctx, p) -> {});
        for (String route : new String[] {"GET /v1/streams", "GET /v1/pipelines", "GET /v1/models", "GET /v1/runs",
                "GET /v1/runs/{id}", "GET /v1/lineage", "GET /v1/tables", "GET /metrics", "POST /v1/sql", "POST /v1/runs",
                "POST /v1/runs/{id}/retry", "POST /v1/backfills", "POST /v1/checks/run", "GET /v1/runs/{id}/log", "GET /v1/alerts",
                "GET /v1/tables/{table}", "GET /v1/tables/{table}/rows", "GET /v1/queries", "GET /v1/dashboards",
                "GET /v1/dashboards/{name}", "GET /v1/dashboards/{name}/grafana", "GET /v1/search"}) {
            rule(route, GENERAL);
        }
        for (String method : new String[] {"GET", "HEAD", "POST", "DELETE"}) {
            rule(method + " " + IcebergCatalogApi.CATALOG, GENERAL); // the catalog checks each table against the grants
        }
        rule("POST /v1/streams/{stream}/events", (ctx, p) -> p.require(Privilege.WRITE, "stream:" + ctx.pathParam("stream")));
        rule("PUT /v1/queries/{name}", (ctx, p) -> p.require(Privilege.CHANGE, "query:" + ctx.pathParam("name")));
        rule("DELETE /v1/queries/{name}", (ctx, p) -> p.require(Privilege.CHANGE, "query:" + ctx.pathParam("name")));
        rule("POST /v1/pipelines/{pipeline}/stop", (ctx, p) -> p.require(Privilege.CHANGE, "pipeline:" + ctx.pathParam("pipeline")));
        rule("POST /v1/pipelines/{pipeline}/restart", (ctx, p) -> p.require(Privilege.CHANGE, "pipeline:" + ctx.pathParam("pipeline")));
        for (String route : new String[] {"GET /v1/ml", "GET /v1/ml/{name}/versions", "POST /v1/ml/{name}/predict"}) {
            rule(route, GENERAL);
        }
        rule("POST /v1/ml/{name}/train", (ctx, p) -> p.require(Privilege.CHANGE, "ml:" + ctx.pathParam("name")));
        rule("POST /v1/ml/{name}/versions/{version}/promote", (ctx, p) -> p.require(Privilege.CHANGE, "ml:" + ctx.pathParam("name")));
    }

    void rule(String route, Rule rule) {
        rules.put(route, rule);
    }

    void register(Javalin app) {
        app.beforeMatched(this::check);
    }

    private void check(Context ctx) {
        if (ctx.path().startsWith(ConsoleApi.CONSOLE_PATH + "/") && ctx.method() == io.javalin.http.HandlerType.GET) {
            return; // the console's static files (beforeMatched runs for them too): no endpoint lives under /console
        }
        String route = ctx.method() + " " + ctx.endpointHandlerPath();
        if (OPEN.contains(route)) {
            return;
        }
        Principal principal = store.authenticate(bearer(ctx));
        ctx.attribute(PRINCIPAL, principal);
        limits.acquire(principal);
        Rule rule = rules.get(route);
        if (rule == null) {
            principal.requireAdmin(ctx.method() + " " + ctx.path());
        } else {
            rule.check(ctx, principal);
        }
    }

    /** The token of {@code Authorization: Bearer <token>}, or null. */
    static String bearer(Context ctx) {
        String header = ctx.header("Authorization");
        if (header == null) {
            return null;
        }
        String trimmed = header.strip();
        return trimmed.regionMatches(true, 0, "Bearer ", 0, 7) ? trimmed.substring(7).strip() : null;
    }

    /** The principal the request acts as; set before every handler but health's. */
    static Principal principal(Context ctx) {
        Principal p = ctx.attribute(PRINCIPAL);
        if (p == null) {
            throw new WatershedException(ErrorCode.INTERNAL, "No principal on " + ctx.method() + " " + ctx.path());
        }
        return p;
    }
}
