package io.watershed.spi;

import java.util.Optional;
import java.util.Set;

/**
 * What one user may read with SQL: which lake and live tables, and of those which columns. The query engine
 * asks it for every table a statement names, however the statement is written, and refuses the statement
 * when one is not readable; a table readable in some columns only is replaced by a view of those columns.
 */
public interface ReadScope {

    /** An administrator: every table, and the catalog functions. */
    ReadScope ALL = new ReadScope() {
        @Override
        public String user() {
            return "admin";
        }

        @Override
        public boolean unrestricted() {
            return true;
        }

        @Override
        public Optional<Set<String>> columns(String table) {
            return Optional.of(Set.of());
        }
    };

    /** Who reads, for errors and the audit log. */
    String user();

    /** Whether nothing is withheld (an administrator). */
    boolean unrestricted();

    /**
     * The columns of {@code table} (lower-case {@code schema.table}, e.g. {@code raw.clicks}) the user may read:
     * empty when the table is not readable at all, an empty set when every column is, else the lower-case names.
     */
    Optional<Set<String>> columns(String table);
}
