package io.watershed.spi;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Set;

/**
 * How a part reports a failure of one of its own databases (the SQLite files in the data directory, or PostgreSQL with
 * {@code metadata.url}: access, run history, source offsets): a file locked by another process, unreadable, full, gone
 * or closed while the platform stops, or PostgreSQL down or unreachable, is {@link ErrorCode#UNAVAILABLE}, retriable,
 * with what to do next; a statement the database refuses as written (a constraint, a type, a misuse, a syntax error) is a
 * bug of the platform, {@link ErrorCode#INTERNAL}.
 */
public final class StoreFailure {
    /** SQLite's primary result codes that mean the statement is wrong, not the database unavailable. */
    private static final Set<Integer> STATEMENT_ERRORS = Set.of(1 /* ERROR */, 2 /* INTERNAL */, 19 /* CONSTRAINT */,
            20 /* MISMATCH */, 21 /* MISUSE */, 25 /* RANGE */);
    /** PostgreSQL's SQLSTATE classes that mean the statement is wrong: data, integrity constraint, syntax or access rule. */
    private static final Set<String> STATEMENT_STATES = Set.of("22", "23", "42");
    /** How long a client waits before it retries: a busy or locked file is usually free again by then. */
    public static final Duration RETRY_AFTER = Duration.ofSeconds(5);

    private StoreFailure() {}

    /**
     * @param action what could not be done, as "Cannot &lt;action&gt;" reads ("read the access database")
     * @param store the database as its owner names it, with its file ("the access database access.db")
     */
    public static WatershedException of(String action, String store, SQLException e) {
        String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip();
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        boolean postgres = e.getClass().getName().startsWith("org.postgresql.");
        boolean statementError = postgres ? STATEMENT_STATES.stream().anyMatch(state::startsWith)
                : STATEMENT_ERRORS.contains(e.getErrorCode() & 0xff) && !closed(e);
        if (statementError) {
            return new WatershedException(ErrorCode.INTERNAL, "Cannot " + action + ": " + store + " refused the statement ("
                    + reason + "); this is a bug, see the server log", e);
        }
        return WatershedException.unavailable("Cannot " + action + ": " + store + " is unavailable (" + reason + "). Retry in a "
                + "few seconds; if it persists, " + (postgres
                        ? "check that PostgreSQL (metadata.url) is up and reachable from this machine"
                        : "check the disk of the data directory (free space, permissions) and that no other process holds the file"),
                RETRY_AFTER, e);
    }

    private static boolean closed(SQLException e) {
        return e.getMessage() != null && e.getMessage().contains("closed");
    }
}
