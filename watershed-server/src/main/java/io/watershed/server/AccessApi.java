package io.watershed.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.watershed.access.AccessStore;
import io.watershed.access.AccessStore.TokenInfo;
import io.watershed.access.Grant;
import io.watershed.access.Principal;
import io.watershed.access.Privilege;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Governance over HTTP: {@code /v1/whoami} for anyone with a token; users, roles, grants and tokens under
 * {@code /v1/access} for admins (no rule in {@link Authorization}, so admin only). Token secrets appear once, in the
 * answer that issues them.
 */
final class AccessApi implements Routes {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final AccessStore store;

    AccessApi(AccessStore store) {
        this.store = store;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/whoami", ctx -> ctx.json(principalJson(Authorization.principal(ctx))));
        app.get("/v1/access/users", ctx -> ctx.json(Map.of("users", store.users().stream().map(u -> Map.of("name", u.name(),
                "kind", u.kind(), "roles", u.roles(), "created_at", u.createdAt().toString())).toList())));
        app.post("/v1/access/users", ctx -> {
            JsonNode body = body(ctx);
            store.createUser(text(body, "name"), body.path("kind").asText("person"));
            AuditLog.note(ctx, "user.create", "user:" + text(body, "name"), null);
            ctx.status(201).json(Map.of("name", text(body, "name")));
        });
        app.delete("/v1/access/users/{user}", ctx -> {
            store.deleteUser(ctx.pathParam("user"));
            AuditLog.note(ctx, "user.delete", "user:" + ctx.pathParam("user"), null);
            ctx.json(Map.of("deleted", ctx.pathParam("user")));
        });
        app.post("/v1/access/users/{user}/roles", ctx -> {
            String role = text(body(ctx), "role");
            store.addMember(ctx.pathParam("user"), role);
            AuditLog.note(ctx, "role.assign", "user:" + ctx.pathParam("user"), "role " + role);
            ctx.json(Map.of("user", ctx.pathParam("user"), "role", role));
        });
        app.delete("/v1/access/users/{user}/roles/{role}", ctx -> {
            store.removeMember(ctx.pathParam("user"), ctx.pathParam("role"));
            AuditLog.note(ctx, "role.unassign", "user:" + ctx.pathParam("user"), "role " + ctx.pathParam("role"));
            ctx.json(Map.of("user", ctx.pathParam("user"), "removed_role", ctx.pathParam("role")));
        });
        app.get("/v1/access/roles", ctx -> ctx.json(Map.of("roles", store.roles().stream().map(r -> Map.of("name", r.name(),
                "grants", r.grants().stream().map(AccessApi::grantJson).toList())).toList())));
        app.post("/v1/access/roles", ctx -> {
            String name = text(body(ctx), "name");
            store.createRole(name);
            AuditLog.note(ctx, "role.create", "role:" + name, null);
            ctx.status(201).json(Map.of("name", name));
        });
        app.delete("/v1/access/roles/{role}", ctx -> {
            store.deleteRole(ctx.pathParam("role"));
            AuditLog.note(ctx, "role.delete", "role:" + ctx.pathParam("role"), null);
            ctx.json(Map.of("deleted", ctx.pathParam("role")));
        });
        app.post("/v1/access/grants", ctx -> {
            JsonNode body = body(ctx);
            List<String> columns = new ArrayList<>();
            body.path("columns").forEach(c -> columns.add(c.asText()));
            Grant grant = store.grant(text(body, "role"), Privilege.parse(text(body, "privilege")), text(body, "object"), columns);
            AuditLog.note(ctx, "grant", grant.object(), "role " + grant.role() + " " + grant.privilege().label()
                    + (columns.isEmpty() ? "" : " columns " + String.join(",", columns)));
            ctx.status(201).json(grantJson(grant));
        });
        app.post("/v1/access/revoke", ctx -> {
            JsonNode body = body(ctx);
            boolean revoked = store.revoke(text(body, "role"), Privilege.parse(text(body, "privilege")), text(body, "object"));
            AuditLog.note(ctx, "revoke", text(body, "object"), "role " + text(body, "role") + " " + text(body, "privilege"));
            ctx.json(Map.of("revoked", revoked));
        });
        app.get("/v1/access/tokens", ctx -> ctx.json(Map.of("tokens", store.tokens().stream().map(AccessApi::tokenJson).toList())));
        app.post("/v1/access/tokens", this::issue);
        app.delete("/v1/access/tokens/{id}", ctx -> {
            boolean revoked = store.revokeToken(ctx.pathParam("id"));
            AuditLog.note(ctx, "token.revoke", "token:" + ctx.pathParam("id"), null);
            ctx.json(Map.of("id", ctx.pathParam("id"), "revoked", true, "already_revoked", !revoked));
        });
    }

    private void issue(Context ctx) {
        JsonNode body = body(ctx);
        String user = text(body, "user");
        Optional<Duration> ttl = Optional.ofNullable(body.path("expires_in").asText(null)).filter(s -> !s.isBlank()).map(s -> {
            try {
                return io.watershed.spi.SettingType.duration(s);
            } catch (RuntimeException e) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot read expires_in '" + s + "': use a duration such as 12h or 30d");
            }
        });
        Optional<String> stream = Optional.ofNullable(body.path("stream").asText(null)).filter(s -> !s.isBlank());
        Optional<Integer> rate = body.hasNonNull("rate") ? Optional.of(body.path("rate").asInt()) : Optional.empty();
        AccessStore.IssuedToken issued = store.issueToken(user, body.path("name").asText(""), ttl, stream, rate);
        AuditLog.note(ctx, "token.issue", "token:" + issued.info().id(), "user " + user + stream.map(s -> " stream " + s).orElse(""));
        Map<String, Object> out = tokenJson(issued.info());
        out.put("token", issued.token());
        out.put("note", "Shown once: store it now. Send it as 'Authorization: Bearer <token>'; over Kafka log in with SASL/PLAIN "
                + "or SCRAM-SHA-256 as user " + issued.info().id() + " with the token as password");
        ctx.status(201).json(out);
    }

    static Map<String, Object> principalJson(Principal p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("user", p.user());
        m.put("token", p.tokenId());
        m.put("roles", p.roles());
        m.put("admin", p.admin());
        m.put("stream", p.stream().orElse(null));
        m.put("rate_limit_per_second", p.ratePerSecond());
        m.put("grants", p.grants().stream().map(AccessApi::grantJson).toList());
        return m;
    }

    static Map<String, Object> grantJson(Grant g) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", g.role());
        m.put("privilege", g.privilege().label());
        m.put("object", g.object());
        m.put("columns", g.columns());
        return m;
    }

    static Map<String, Object> tokenJson(TokenInfo t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", t.id());
        m.put("user", t.user());
        m.put("name", t.name());
        m.put("stream", t.stream().orElse(null));
        m.put("rate_limit_per_second", t.ratePerSecond());
        m.put("created_at", t.createdAt().toString());
        m.put("expires_at", t.expiresAt().map(Instant::toString).orElse(null));
        m.put("revoked_at", t.revokedAt().map(Instant::toString).orElse(null));
        m.put("last_used_at", t.lastUsedAt().map(Instant::toString).orElse(null));
        m.put("active", t.active(Instant.now()));
        return m;
    }

    private static JsonNode body(Context ctx) {
        try {
            JsonNode node = JSON.readTree(ctx.bodyInputStream());
            if (node == null || !node.isObject()) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot read the request: send a JSON object");
            }
            return node;
        } catch (java.io.IOException e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot read the request: send a JSON object", e);
        }
    }

    private static String text(JsonNode body, String field) {
        String value = body.path(field).asText("");
        if (value.isBlank()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot read the request: \"" + field + "\" is missing");
        }
        return value;
    }
}
