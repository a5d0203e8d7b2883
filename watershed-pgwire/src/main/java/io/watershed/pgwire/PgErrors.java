package io.watershed.pgwire;

import io.watershed.spi.WatershedException;
import java.util.Locale;

/** SQLSTATE codes of Watershed's errors, as Postgres clients expect them. */
final class PgErrors {
    private PgErrors() {}

    /** An error with a SQLSTATE of its own, raised by the protocol itself. */
    static final class PgException extends RuntimeException {
        private final String sqlState;

        PgException(String sqlState, String message) {
            super(message);
            this.sqlState = sqlState;
        }

        String sqlState() {
            return sqlState;
        }
    }

    /**
     * QUERY_INVALID: 42P01 for an unknown table, 42703 for an unknown column, 22P02 for a value that does not convert, else
     * 42601 (syntax); QUERY_FORBIDDEN 42501; QUERY_TIMEOUT 57014 (cancelled); UNAUTHENTICATED 28P01; UNAVAILABLE 57P03;
     * anything else XX000.
     */
    static String sqlState(WatershedException e) {
        String message = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
        return switch (e.code()) {
            case QUERY_INVALID -> message.contains("table with name") || message.contains("catalog error: table")
                    ? "42P01"
                    : message.contains("referenced column") || message.contains("column with name") ? "42703"
                    : message.contains("conversion error") || message.contains("could not convert") ? "22P02" : "42601";
            case QUERY_FORBIDDEN, FORBIDDEN -> "42501";
            case QUERY_TIMEOUT -> "57014";
            case UNAUTHENTICATED -> "28P01";
            case UNAVAILABLE -> "57P03";
            default -> "XX000";
        };
    }
}
