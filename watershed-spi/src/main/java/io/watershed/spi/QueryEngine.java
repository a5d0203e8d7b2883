package io.watershed.spi;

import java.util.List;

/** Runs one read-only SQL statement over the lake, inside the sandbox. */
public interface QueryEngine extends AutoCloseable {

    /**
     * @throws WatershedException QUERY_INVALID (syntax, unknown table), QUERY_FORBIDDEN (files,
     *     network, DDL), QUERY_TIMEOUT
     */
    default QueryResult query(String sql, int maxRows) {
        return query(sql, maxRows, ReadScope.ALL);
    }

    /**
     * Runs the statement as a user who may read only what {@code scope} allows.
     *
     * @throws WatershedException QUERY_FORBIDDEN also for a table, column or catalog function the user may not read
     */
    QueryResult query(String sql, int maxRows, ReadScope scope);

    @Override
    void close();

    /**
     * Rows are capped at the requested maximum; {@code truncated} says whether more existed.
     *
     * @param tables the tables the statement named, lower-case {@code schema.table} (for the audit log)
     */
    record QueryResult(List<String> columns, List<String> types, List<List<Object>> rows, boolean truncated, long elapsedMillis,
            List<String> tables) {
        public QueryResult(List<String> columns, List<String> types, List<List<Object>> rows, boolean truncated, long elapsedMillis) {
            this(columns, types, rows, truncated, elapsedMillis, List.of());
        }
    }
}
