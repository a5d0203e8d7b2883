package io.watershed.server;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.watershed.access.AccessStore;
import io.watershed.access.Principal;
import io.watershed.access.Privilege;
import io.watershed.lake.IcebergRestCatalog;
import io.watershed.project.SqlReferences;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.Project;
import io.watershed.spi.WatershedException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The lake as an Iceberg REST catalog under {@code /iceberg} (a client's {@code uri} is {@code http(s)://host:port/iceberg}):
 * {@link IcebergRestCatalog} answers, as the caller's grants allow; this class authenticates, audits and serves it.
 * Tokens are the API's: a bearer token, or the spec's OAuth2 client-credentials exchange at {@code /iceberg/v1/oauth/tokens}
 * with a token as the client secret, which answers the same token as the access token (Watershed's tokens are already
 * bearer tokens, and expire or are revoked as they are).
 */
final class IcebergCatalogApi implements Routes {
    static final String PREFIX = "/iceberg";
    static final String TOKENS = PREFIX + "/v1/oauth/tokens";
    static final String CATALOG = PREFIX + "/v1/*";
    private static final String TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
    private static final String ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

    private final IcebergRestCatalog catalog;
    private final AccessStore access;

    IcebergCatalogApi(IcebergRestCatalog catalog, AccessStore access) {
        this.catalog = catalog;
        this.access = access;
    }

    @Override
    public void register(Javalin app) {
        app.post(TOKENS, this::token); // before the catalog's wildcard, which would match it too
        app.get(CATALOG, this::serve);
        app.head(CATALOG, this::serve);
        app.post(CATALOG, this::serve);
        app.delete(CATALOG, this::serve);
    }

    /**
     * Which tables Watershed writes itself: the raw, state and models namespaces, the platform's {@code _} namespaces,
     * each model's table and each pipeline's lake outputs.
     */
    static IcebergRestCatalog.ManagedTables managed(Project project) {
        Map<String, String> namespaces = new HashMap<>();
        namespaces.put("raw", "raw tables are written by Watershed's lake writer, from the streams");
        namespaces.put("state", "state tables are written by Watershed, from the streams' latest events");
        namespaces.putIfAbsent(project.settings().models().namespace(), "its tables are written by Watershed's model builds");
        Map<String, String> tables = new HashMap<>();
        for (ModelSpec model : project.models().values()) {
            tables.put(model.table(), "it is built by Watershed's model '" + model.name() + "'");
        }
        for (PipelineSpec pipeline : project.pipelines().values()) {
            for (String output : SqlReferences.pipelineOutputs(pipeline.sql())) {
                tables.putIfAbsent(output, "it is written by Watershed's pipeline '" + pipeline.name() + "'");
            }
        }
        return new IcebergRestCatalog.ManagedTables() {
            @Override
            public Optional<String> namespace(String namespace) {
                if (namespace.startsWith("_")) {
                    return Optional.of("it is Watershed's own bookkeeping");
                }
                return Optional.ofNullable(namespaces.get(namespace));
            }

            @Override
            public Optional<String> table(String namespace, String table) {
                return Optional.ofNullable(tables.get((namespace + "." + table).toLowerCase(java.util.Locale.ROOT)));
            }
        };
    }

    private void serve(Context ctx) {
        Principal principal = Authorization.principal(ctx);
        String path = ctx.path().substring((PREFIX + "/v1/").length());
        Map<String, String> query = new HashMap<>();
        ctx.queryParamMap().forEach((key, values) -> {
            if (!values.isEmpty()) {
                query.put(key, values.get(0));
            }
        });
        IcebergRestCatalog.Response response = catalog.handle(ctx.method().name(), path, query, ctx.body(), caller(principal));
        AuditLog.note(ctx, response.action(), response.object(), null);
        ctx.status(response.status());
        if (!response.body().isEmpty()) {
            ctx.contentType("application/json").result(response.body());
        }
    }

    /** What the principal may do in the catalog: read as its read grants say, write the tables its write grants name. */
    static IcebergRestCatalog.Caller caller(Principal principal) {
        return new IcebergRestCatalog.Caller() {
            @Override
            public boolean mayWrite(String table) {
                return principal.general() && principal.may(Privilege.WRITE, "table:" + table);
            }

            @Override
            public String user() {
                return principal.user();
            }

            @Override
            public boolean unrestricted() {
                return principal.unrestricted();
            }

            @Override
            public Optional<Set<String>> columns(String table) {
                return principal.columns(table);
            }
        };
    }

    /**
     * The OAuth2 token endpoint: {@code client_credentials} with a Watershed token as {@code client_secret} (any
     * {@code client_id}), or a token exchange of one; the access token is the token itself.
     */
    private void token(Context ctx) {
        String grant = ctx.formParam("grant_type");
        String token;
        if ("client_credentials".equals(grant)) {
            token = ctx.formParam("client_secret");
        } else if (TOKEN_EXCHANGE.equals(grant)) {
            token = ctx.formParam("subject_token");
        } else {
            oauthError(ctx, 400, "unsupported_grant_type", "Cannot issue a token for grant_type '" + grant
                    + "': use client_credentials, with a Watershed token as the client secret");
            return;
        }
        Principal principal;
        try {
            principal = access.authenticate(token);
        } catch (WatershedException e) {
            oauthError(ctx, e.code().httpStatus() == 401 ? 401 : e.code().httpStatus(), "invalid_client", e.getMessage());
            return;
        }
        ctx.attribute(Authorization.PRINCIPAL, principal);
        if (!principal.general()) {
            oauthError(ctx, 400, "unauthorized_client", "Cannot use token " + principal.tokenId() + " for the catalog: it may only "
                    + "write events to stream '" + principal.stream().orElse("") + "'");
            return;
        }
        AuditLog.note(ctx, "iceberg.oauth.token", null, null);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("access_token", token.strip());
        body.put("token_type", "bearer");
        body.put("issued_token_type", ACCESS_TOKEN_TYPE);
        ctx.header("Cache-Control", "no-store");
        ctx.json(body);
    }

    /** The OAuth2 error shape (RFC 6749 section 5.2), which the spec's token endpoint answers. */
    private static void oauthError(Context ctx, int status, String error, String description) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", error);
        body.put("error_description", description);
        ctx.status(status).json(body);
    }

    /** An error of the HTTP layer (authentication, rate limit) on a catalog path, in the spec's shape. */
    static void error(Context ctx, WatershedException e) {
        int status = e.code().httpStatus();
        ctx.status(status).contentType("application/json")
                .result(IcebergRestCatalog.errorJson(status, IcebergRestCatalog.typeOf(status), e.getMessage()));
    }
}
