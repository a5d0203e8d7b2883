package io.watershed.spi;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A data-quality expectation on a lake table, from {@code checks/*.yaml}. It passes when it finds no
 * offending rows.
 *
 * @param table {@code <namespace>.<table>}
 * @param name unique per table; the kind and its columns unless the file names it
 * @param kind what it checks
 * @param columns the columns it checks (not null, unique: all of them; the others: the first)
 * @param values accepted values
 * @param min least row count
 * @param max most row count
 * @param maxAge freshness: the newest value of the column must be at most this old
 * @param toTable relationships: the table whose {@code toColumn} every value must be found in
 * @param sql custom: a SELECT returning the offending rows
 * @param warnOnly a failure is reported but does not fail the run
 * @param location {@code file:line:col} of its declaration
 */
public record CheckSpec(String table, String name, Kind kind, List<String> columns, List<String> values, OptionalLong min,
        OptionalLong max, Optional<Duration> maxAge, Optional<String> toTable, Optional<String> toColumn, Optional<String> sql,
        boolean warnOnly, String location) {
    public CheckSpec {
        columns = List.copyOf(columns);
        values = List.copyOf(values);
    }

    public enum Kind {
        NOT_NULL, UNIQUE, ACCEPTED_VALUES, ROW_COUNT, FRESHNESS, RELATIONSHIPS, SQL;

        /** Its key in a checks file. */
        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
