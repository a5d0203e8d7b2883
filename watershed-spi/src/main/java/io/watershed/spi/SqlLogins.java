package io.watershed.spi;

import java.util.List;

/** Logins of SQL clients that come in by another door than the HTTP API (the Postgres wire), checked and audited as it does. */
public interface SqlLogins {

    /**
     * The session of a client that sent {@code password} (a token) as {@code user}, from {@code remote}.
     *
     * @throws WatershedException UNAUTHENTICATED for an unknown, revoked or expired token (the refusal is audited)
     */
    Session login(String user, String password, String remote);

    /** One logged-in client. */
    interface Session {
        /** What it may read. */
        ReadScope scope();

        /**
         * Records a statement it ran, like a {@code /v1/sql} request: {@code status} 200 when it ran, else the HTTP status of
         * its error code.
         */
        void statement(String sql, List<String> tables, int status);
    }
}
