package io.watershed.server;

import io.watershed.access.AccessStore;
import io.watershed.access.Principal;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.ReadScope;
import io.watershed.spi.SqlLogins;
import io.watershed.spi.WatershedException;
import java.util.List;

/**
 * Logins of Postgres wire clients: the password is a token, checked as a bearer token is (a stream writer's token cannot
 * query, as on {@code POST /v1/sql}); the user name is free, but a token id ({@code wst_...}) given as the user must be the
 * token's own. Refusals and statements go to the audit log like the API's, with method {@code PG}.
 */
final class PgLogins implements SqlLogins {
    private static final String PATH = "pgwire";
    private final AccessStore access;
    private final AuditLog audit;

    PgLogins(AccessStore access, AuditLog audit) {
        this.access = access;
        this.audit = audit;
    }

    @Override
    public Session login(String user, String password, String remote) {
        Principal principal;
        // a user name shaped like a token is shown by its id only: a client may have put the whole token there
        String shown = AccessStore.tokenId(user).orElse(user);
        try {
            principal = access.authenticate(password);
            if (shown.startsWith("wst_") && !shown.equals(principal.tokenId())) {
                throw new WatershedException(ErrorCode.UNAUTHENTICATED, "Cannot log in as " + shown + ": the password is another "
                        + "token; log in with any user name, or with the token's own id");
            }
            if (!principal.general()) {
                throw new WatershedException(ErrorCode.UNAUTHENTICATED, "Cannot query with token " + principal.tokenId() + ": it "
                        + "may only write events to stream '" + principal.stream().orElse("") + "'");
            }
        } catch (WatershedException e) {
            audit.record(null, "auth.refused", "PG", PATH, shown, 401, null, null, remote);
            throw e;
        }
        return new Session() {
            /** The token checked again at each statement: a revoked token or grant stops an open connection at once. */
            @Override
            public ReadScope scope() {
                return access.authenticate(password);
            }

            @Override
            public void statement(String sql, List<String> tables, int status) {
                String detail = sql.length() > 10_000 ? sql.substring(0, 10_000) + "..." : sql;
                if (status < 300) {
                    audit.read(principal, "query", "PG", PATH, null, status, detail, String.join(",", tables), remote);
                } else {
                    audit.record(principal, "query", "PG", PATH, null, status, detail, String.join(",", tables), remote);
                }
            }
        };
    }
}
