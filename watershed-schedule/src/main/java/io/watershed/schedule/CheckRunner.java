package io.watershed.schedule;

import io.watershed.schedule.Runs.CheckResult;
import io.watershed.spi.CheckSpec;
import io.watershed.spi.Durations;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.QueryEngine.QueryResult;
import io.watershed.spi.WatershedException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Runs checks as SQL on the query engine, over the tables' committed snapshots: each check is a query
 * for its offending rows, of which it reports the count and the first five.
 */
final class CheckRunner {
    static final int SAMPLE = 5;
    private static final DateTimeFormatter TIMESTAMP = new DateTimeFormatterBuilder().appendPattern("yyyy-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd().toFormatter();

    private final QueryEngine query;
    private final Clock clock;

    CheckRunner(QueryEngine query, Clock clock) {
        this.query = query;
        this.clock = clock;
    }

    List<CheckResult> run(List<CheckSpec> checks) {
        return checks.stream().map(this::run).toList();
    }

    CheckResult run(CheckSpec check) {
        try {
            return switch (check.kind()) {
                case ROW_COUNT -> rowCount(check);
                case FRESHNESS -> freshness(check);
                default -> offending(check, offendingRows(check));
            };
        } catch (WatershedException e) {
            return result(check, "error", 0, List.of(), List.of(), "cannot run the check: " + e.getMessage());
        } catch (RuntimeException e) {
            // e.g. a freshness column whose values are not dates or timestamps
            return result(check, "error", 0, List.of(), List.of(), "cannot run the check: " + e);
        }
    }

    /** The query for the rows that break the check. */
    static String offendingRows(CheckSpec check) {
        String table = table(check.table());
        return switch (check.kind()) {
            case NOT_NULL -> "SELECT * FROM " + table + " WHERE " + check.columns().stream().map(c -> column(c) + " IS NULL")
                    .collect(Collectors.joining(" OR "));
            case UNIQUE -> {
                String columns = check.columns().stream().map(CheckRunner::column).collect(Collectors.joining(", "));
                yield "SELECT " + columns + ", count(*) AS occurrences FROM " + table + " GROUP BY " + columns
                        + " HAVING count(*) > 1 ORDER BY occurrences DESC";
            }
            case ACCEPTED_VALUES -> "SELECT * FROM " + table + " WHERE " + column(check.columns().get(0)) + " IS NOT NULL AND CAST("
                    + column(check.columns().get(0)) + " AS VARCHAR) NOT IN (" + check.values().stream().map(CheckRunner::literal)
                    .collect(Collectors.joining(", ")) + ")";
            case RELATIONSHIPS -> "SELECT c.* FROM " + table + " AS c WHERE c." + column(check.columns().get(0)) + " IS NOT NULL "
                    + "AND NOT EXISTS (SELECT 1 FROM " + table(check.toTable().orElseThrow()) + " AS p WHERE p."
                    + column(check.toColumn().orElseThrow()) + " = c." + column(check.columns().get(0)) + ")";
            case SQL -> check.sql().orElseThrow().strip().replaceFirst(";\\s*$", "");
            default -> throw new IllegalArgumentException(check.kind().toString());
        };
    }

    private CheckResult offending(CheckSpec check, String sql) {
        QueryResult count = query.query("SELECT count(*) FROM (" + sql + "\n) AS offending", 1);
        long failing = ((Number) count.rows().get(0).get(0)).longValue();
        if (failing == 0) {
            return result(check, "pass", 0, List.of(), List.of(), "no offending rows");
        }
        QueryResult sample = query.query("SELECT * FROM (" + sql + "\n) AS offending LIMIT " + SAMPLE, SAMPLE);
        String what = switch (check.kind()) {
            case NOT_NULL -> "rows with " + String.join(" or ", check.columns()) + " null";
            case UNIQUE -> "values of " + String.join(", ", check.columns()) + " that occur more than once";
            case ACCEPTED_VALUES -> "rows whose " + check.columns().get(0) + " is not one of " + check.values();
            case RELATIONSHIPS -> "rows whose " + check.columns().get(0) + " is not found in " + check.toTable().orElseThrow() + "."
                    + check.toColumn().orElseThrow();
            default -> "offending rows";
        };
        return result(check, check.warnOnly() ? "warn" : "fail", failing, sample.columns(), sample.rows(), failing + " " + what);
    }

    private CheckResult rowCount(CheckSpec check) {
        QueryResult r = query.query("SELECT count(*) AS row_count FROM " + table(check.table()), 1);
        long rows = ((Number) r.rows().get(0).get(0)).longValue();
        boolean low = check.min().isPresent() && rows < check.min().getAsLong();
        boolean high = check.max().isPresent() && rows > check.max().getAsLong();
        String bounds = (check.min().isPresent() ? "at least " + check.min().getAsLong() : "")
                + (check.min().isPresent() && check.max().isPresent() ? " and " : "")
                + (check.max().isPresent() ? "at most " + check.max().getAsLong() : "");
        if (!low && !high) {
            return result(check, "pass", 0, List.of(), List.of(), rows + " rows, " + bounds);
        }
        return result(check, check.warnOnly() ? "warn" : "fail", 1, List.of("row_count"), List.of(List.of(rows)),
                check.table() + " has " + rows + " rows; expected " + bounds);
    }

    private CheckResult freshness(CheckSpec check) {
        String column = check.columns().get(0);
        QueryResult r = query.query("SELECT CAST(max(" + column(column) + ") AS VARCHAR) AS newest FROM " + table(check.table()), 1);
        Object value = r.rows().get(0).get(0);
        Duration maxAge = check.maxAge().orElseThrow();
        if (value == null) {
            return result(check, check.warnOnly() ? "warn" : "fail", 1, List.of("newest"), List.of(java.util.Arrays.asList((Object) null)),
                    check.table() + " has no " + column + " at all; expected one within " + maxAge);
        }
        Instant newest = instant(value.toString());
        Duration age = Duration.between(newest, clock.instant());
        if (age.compareTo(maxAge) <= 0) {
            return result(check, "pass", 0, List.of(), List.of(), "newest " + column + " " + value + " is " + Durations.human(age) + " old, "
                    + "within " + Durations.human(maxAge));
        }
        return result(check, check.warnOnly() ? "warn" : "fail", 1, List.of("newest"), List.of(List.of(value.toString())),
                "newest " + column + " is " + value + ", " + Durations.human(age) + " old; expected at most " + Durations.human(maxAge));
    }

    /** DuckDB's text of a DATE, TIMESTAMP or TIMESTAMPTZ; times without a zone are UTC. */
    static Instant instant(String text) {
        String t = text.strip();
        if (t.length() == 10) {
            return LocalDate.parse(t).atStartOfDay().toInstant(ZoneOffset.UTC);
        }
        int zone = Math.max(t.lastIndexOf('+'), t.lastIndexOf('-'));
        if (zone > 10) {
            String offset = t.substring(zone);
            if (offset.length() == 3) {
                offset += ":00";
            }
            return OffsetDateTime.of(LocalDateTime.parse(t.substring(0, zone), TIMESTAMP), ZoneOffset.of(offset)).toInstant();
        }
        return LocalDateTime.parse(t, TIMESTAMP).toInstant(ZoneOffset.UTC);
    }

    private static CheckResult result(CheckSpec check, String status, long failing, List<String> columns, List<List<Object>> sample,
            String message) {
        return new CheckResult(check.table(), check.name(), check.kind().key(), status, failing, columns, sample, message,
                check.location(), check.warnOnly());
    }

    private static String table(String name) {
        String[] parts = name.split("\\.");
        return column(parts[0]) + "." + column(parts[1]);
    }

    private static String column(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    private static String literal(String value) {
        return "'" + value.replace("'", "''") + "'";
    }
}
