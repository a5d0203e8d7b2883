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

    /**
     * The columns a statement would return and the parameters ({@code $1}, {@code $2}, ...) it takes, without running it;
     * checked like {@link #query}.
     *
     * @throws WatershedException as {@link #query}
     */
    default Description describe(String sql, ReadScope scope) {
        throw unsupported();
    }

    /**
     * Prepares the statement with its parameters bound ({@code $1} is {@code parameters.get(0)}; a String is cast to the
     * parameter's type) and returns a cursor over its rows: the statement runs at the first {@link Cursor#next}, and its
     * rows are read in batches, so nothing is capped and the whole result is never held. Nested values (lists, structs,
     * maps) come as JSON text of type {@code JSON}. The cursor holds the snapshots it reads until closed.
     *
     * @throws WatershedException as {@link #query}
     */
    default Cursor open(String sql, List<Object> parameters, ReadScope scope) {
        throw unsupported();
    }

    /**
     * A catalog of what {@code scope} may read and nothing else: the readable lake and live tables, with their readable
     * columns, as empty tables in a database of their own, whose {@code pg_catalog} and {@code information_schema}
     * answer clients' schema discovery. Statements there never read the lake.
     */
    default Catalog catalog(ReadScope scope) {
        throw unsupported();
    }

    private WatershedException unsupported() {
        return new WatershedException(ErrorCode.INTERNAL, "Cannot stream results: " + getClass().getSimpleName() + " only answers "
                + "whole queries");
    }

    @Override
    void close();

    /**
     * @param types the engine's type names of the columns, e.g. {@code BIGINT}, {@code DECIMAL(10,2)}, {@code JSON}
     * @param parameterTypes the engine's type names of the parameters, {@code UNKNOWN} where the statement does not say
     */
    record Description(List<String> columns, List<String> types, List<String> parameterTypes) {}

    /**
     * An open result. Values are String, Boolean, Short, Integer, Long, Float, Double, BigDecimal, BigInteger,
     * LocalDate, LocalTime, LocalDateTime, OffsetDateTime (timestamps with time zone), UUID, byte[] or null.
     */
    interface Cursor extends AutoCloseable {
        Description description();

        /**
         * Up to {@code max} more rows; fewer (maybe none) only at the end.
         *
         * @throws WatershedException QUERY_TIMEOUT when the statement was cancelled or timed out
         */
        List<Object[]> next(int max);

        /** The tables the statement read, lower-case {@code schema.table} (for the audit log). */
        List<String> tables();

        /** Stops the statement; the reader's next call fails with QUERY_TIMEOUT. Safe from any thread. */
        void cancel();

        @Override
        void close();
    }

    /** See {@link QueryEngine#catalog}. */
    interface Catalog extends AutoCloseable {
        Description describe(String sql);

        Cursor open(String sql, List<Object> parameters);

        @Override
        void close();
    }

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
