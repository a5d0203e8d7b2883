package io.watershed.stream;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.TimestampType;

/**
 * The SQL a JDBC sink sends, per database: identifiers quoted as written (no other escaping; every value is a
 * parameter of a prepared statement), upserts in the database's own syntax, and the column types of a table it creates.
 */
enum JdbcDialect {
    /** PostgreSQL: {@code INSERT ... ON CONFLICT (key) DO UPDATE}. */
    POSTGRESQL("\"") {
        @Override
        String upsert(String table, List<String> columns, List<String> key) {
            List<String> rest = columns.stream().filter(c -> !key.contains(c)).toList();
            return insert(table, columns) + " ON CONFLICT (" + list(key) + ") DO "
                    + (rest.isEmpty() ? "NOTHING" : "UPDATE SET " + rest.stream().map(c -> quote(c) + " = EXCLUDED." + quote(c))
                            .collect(Collectors.joining(", ")));
        }

        @Override
        Optional<String> type(LogicalType type, boolean key) {
            return switch (type.getTypeRoot()) {
                case CHAR, VARCHAR -> Optional.of("text");
                case BOOLEAN -> Optional.of("boolean");
                case TINYINT, SMALLINT -> Optional.of("smallint");
                case INTEGER -> Optional.of("integer");
                case BIGINT -> Optional.of("bigint");
                case FLOAT -> Optional.of("real");
                case DOUBLE -> Optional.of("double precision");
                case DECIMAL -> Optional.of("numeric(" + ((DecimalType) type).getPrecision() + ", " + ((DecimalType) type).getScale() + ")");
                case DATE -> Optional.of("date");
                case TIME_WITHOUT_TIME_ZONE -> Optional.of("time(3)");
                case TIMESTAMP_WITHOUT_TIME_ZONE -> Optional.of("timestamp(" + Math.min(6, ((TimestampType) type).getPrecision()) + ")");
                case TIMESTAMP_WITH_LOCAL_TIME_ZONE ->
                        Optional.of("timestamptz(" + Math.min(6, ((LocalZonedTimestampType) type).getPrecision()) + ")");
                case BINARY, VARBINARY -> Optional.of("bytea");
                default -> Optional.empty();
            };
        }
    },
    /** MySQL and MariaDB: {@code INSERT ... ON DUPLICATE KEY UPDATE}. */
    MYSQL("`") {
        @Override
        String upsert(String table, List<String> columns, List<String> key) {
            List<String> rest = columns.stream().filter(c -> !key.contains(c)).toList();
            // a row of key columns only has nothing to update: setting a key column to itself keeps the row as it is
            List<String> updated = rest.isEmpty() ? key.subList(0, 1) : rest;
            return insert(table, columns) + " ON DUPLICATE KEY UPDATE " + updated.stream()
                    .map(c -> quote(c) + " = VALUES(" + quote(c) + ")").collect(Collectors.joining(", "));
        }

        @Override
        Optional<String> type(LogicalType type, boolean key) {
            return switch (type.getTypeRoot()) {
                // a key column needs a length (an index on TEXT cannot be unique); 255 characters fit any index. Binary
                // collation: Flink's keys 'Foo' and 'foo' (or 'a ' and 'a') are two rows, not one
                case CHAR, VARCHAR -> Optional.of(key ? "varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" : "text");
                case BOOLEAN -> Optional.of("boolean");
                case TINYINT -> Optional.of("tinyint");
                case SMALLINT -> Optional.of("smallint");
                case INTEGER -> Optional.of("int");
                case BIGINT -> Optional.of("bigint");
                case FLOAT -> Optional.of("float");
                case DOUBLE -> Optional.of("double");
                case DECIMAL -> Optional.of("decimal(" + Math.min(65, ((DecimalType) type).getPrecision()) + ", "
                        + Math.min(30, ((DecimalType) type).getScale()) + ")");
                case DATE -> Optional.of("date");
                case TIME_WITHOUT_TIME_ZONE -> Optional.of("time(3)");
                case TIMESTAMP_WITHOUT_TIME_ZONE, TIMESTAMP_WITH_LOCAL_TIME_ZONE ->
                        Optional.of("datetime(" + Math.min(6, precision(type)) + ")");
                case BINARY, VARBINARY -> Optional.of(key ? "varbinary(255)" : "longblob");
                default -> Optional.empty();
            };
        }
    };

    private final String quote;

    JdbcDialect(String quote) {
        this.quote = quote;
    }

    /** The dialect of a {@code jdbc:postgresql:}, {@code jdbc:mysql:} or {@code jdbc:mariadb:} URL. */
    static JdbcDialect of(String url) {
        if (url.startsWith("jdbc:postgresql:")) {
            return POSTGRESQL;
        }
        if (url.startsWith("jdbc:mysql:") || url.startsWith("jdbc:mariadb:")) {
            return MYSQL;
        }
        throw new IllegalArgumentException("Cannot write to " + url.replaceFirst("\\?.*", "")
                + ": only jdbc:postgresql:, jdbc:mysql: and jdbc:mariadb: URLs are supported");
    }

    /** Inserts or, when a row of the same key is there, replaces its other columns. */
    abstract String upsert(String table, List<String> columns, List<String> key);

    /** The column type a created table gets for a Flink type; empty when the sink cannot write that type. */
    abstract Optional<String> type(LogicalType type, boolean key);

    String insert(String table, List<String> columns) {
        return "INSERT INTO " + table(table) + " (" + list(columns) + ") VALUES ("
                + String.join(", ", java.util.Collections.nCopies(columns.size(), "?")) + ")";
    }

    String delete(String table, List<String> key) {
        return "DELETE FROM " + table(table) + " WHERE " + key.stream().map(c -> quote(c) + " = ?").collect(Collectors.joining(" AND "));
    }

    /** {@code CREATE TABLE IF NOT EXISTS}, with the key as its primary key; every type must be one {@link #type} maps. */
    String createTable(String table, List<String> columns, List<LogicalType> types, List<String> key) {
        List<String> definitions = new ArrayList<>();
        for (int i = 0; i < columns.size(); i++) {
            boolean inKey = key.contains(columns.get(i));
            definitions.add(quote(columns.get(i)) + " " + type(types.get(i), inKey).orElseThrow()
                    + (inKey || !types.get(i).isNullable() ? " NOT NULL" : ""));
        }
        if (!key.isEmpty()) {
            definitions.add("PRIMARY KEY (" + list(key) + ")");
        }
        return "CREATE TABLE IF NOT EXISTS " + table(table) + " (" + String.join(", ", definitions) + ")";
    }

    /** A {@code schema.table} or {@code table} name, each part quoted. */
    String table(String name) {
        List<String> parts = new ArrayList<>();
        for (String part : name.split("\\.")) {
            parts.add(quote(part));
        }
        return String.join(".", parts);
    }

    String quote(String identifier) {
        return quote + identifier.replace(quote, quote + quote) + quote;
    }

    String list(List<String> columns) {
        return columns.stream().map(this::quote).collect(Collectors.joining(", "));
    }

    private static int precision(LogicalType type) {
        return type instanceof TimestampType t ? t.getPrecision() : ((LocalZonedTimestampType) type).getPrecision();
    }
}
