package io.watershed.lake;

import io.watershed.spi.StoreFailure;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.util.function.Supplier;
import org.apache.iceberg.jdbc.UncheckedInterruptedException;
import org.apache.iceberg.jdbc.UncheckedSQLException;

/**
 * How the lake tells a caller (the API's table pages, compaction on demand) that its catalog ({@code catalog.db}) or its
 * warehouse files could not be read: {@link io.watershed.spi.ErrorCode#UNAVAILABLE}, retriable, saying what to check,
 * instead of Iceberg's own exceptions, which the server would answer with 500.
 */
final class LakeFailure {
    private static final String CATALOG = "the lake's catalog (catalog.db)";

    private LakeFailure() {}

    /** Runs {@code work}; a failure of the catalog or of the warehouse's files becomes UNAVAILABLE. */
    static <T> T guard(String action, Supplier<T> work) {
        try {
            return work.get();
        } catch (UncheckedSQLException e) {
            throw e.getCause() instanceof SQLException sql ? StoreFailure.of(action, CATALOG, sql) : unavailable(action, CATALOG, e);
        } catch (UncheckedInterruptedException e) {
            throw unavailable(action, CATALOG, e);
        } catch (UncheckedIOException e) { // Iceberg's RuntimeIOException too
            throw unavailable(action, "the lake's warehouse", e);
        }
    }

    /**
     * Whether {@code e} says the lake could not be reached or written now (its catalog, its files, a commit that lost a
     * race), as opposed to refusing what was asked: no fault of the record being written, which must not be
     * dead-lettered for it.
     */
    static boolean unreachable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.apache.iceberg.exceptions.CommitFailedException
                    || t instanceof org.apache.iceberg.exceptions.CommitStateUnknownException
                    || t instanceof UncheckedSQLException || t instanceof UncheckedInterruptedException
                    || t instanceof UncheckedIOException || t instanceof IOException || t instanceof SQLException
                    || t instanceof software.amazon.awssdk.core.exception.SdkException) { // S3 unreachable, refused
                return true;
            }
        }
        return false;
    }

    /** A data or metadata file that could not be read. */
    static WatershedException unreadable(String action, IOException e) {
        return unavailable(action, "the lake's warehouse", e);
    }

    private static WatershedException unavailable(String action, String what, Exception e) {
        return WatershedException.unavailable("Cannot " + action + ": " + what + " cannot be read now (" + e.getMessage() + "). Retry "
                + "in a few seconds; if it persists, check the disk of the data directory (free space, permissions)",
                StoreFailure.RETRY_AFTER, e);
    }
}
