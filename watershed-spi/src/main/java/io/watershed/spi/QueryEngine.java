package io.watershed.spi;

import java.util.List;

/** Runs one read-only SQL statement over the lake, inside the sandbox. */
public interface QueryEngine extends AutoCloseable {

    /**
     * @throws WatershedException QUERY_INVALID (syntax, unknown table), QUERY_FORBIDDEN (files,
     *     network, DDL), QUERY_TIMEOUT
     */
    QueryResult query(String sql, int maxRows);

    @Override
    void close();

    /** Rows are capped at the requested maximum; {@code truncated} says whether more existed. */
    record QueryResult(List<String> columns, List<String> types, List<List<Object>> rows, boolean truncated, long elapsedMillis) {}
}
