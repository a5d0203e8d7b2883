package io.watershed.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Locale;
import java.util.Set;

/**
 * SQL text and DuckDB's parser: the check that a request is one read-only SELECT (with DuckDB's own parser,
 * {@code json_serialize_sql}), printing a rewritten parse tree back to SQL, the tables a statement names,
 * quoting, and the user-facing error for a failed statement.
 */
final class DuckDbSql {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DuckDbSql() {}

    /**
     * Parses with DuckDB's own parser: exactly one statement, and a SELECT (json_serialize_sql only
     * serialises SELECTs). Returns the parse tree.
     *
     * @throws WatershedException QUERY_FORBIDDEN for another statement, QUERY_INVALID for bad SQL or several statements
     */
    static JsonNode checkSingleSelect(Connection session, String sql) throws SQLException {
        try (PreparedStatement check = session.prepareStatement("SELECT json_serialize_sql(?::VARCHAR)")) {
            check.setString(1, sql);
            try (ResultSet rs = check.executeQuery()) {
                rs.next();
                JsonNode parsed = JSON.readTree(rs.getString(1));
                if (parsed.path("error").asBoolean(false)) {
                    String type = parsed.path("error_type").asText();
                    String message = parsed.path("error_message").asText();
                    if (type.equals("not implemented")) {
                        throw new WatershedException(ErrorCode.QUERY_FORBIDDEN, "Cannot run this statement: only read-only "
                                + "SELECT queries run here (COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, CREATE and other "
                                + "statements are refused)");
                    }
                    throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot parse the query: " + message);
                }
                if (parsed.path("statements").size() != 1) {
                    throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot run " + parsed.path("statements").size()
                            + " statements at once: send exactly one SELECT per request");
                }
                return parsed;
            } catch (IOException e) {
                throw new WatershedException(ErrorCode.INTERNAL, "Cannot read DuckDB's parse of the query", e);
            }
        }
    }

    /** Prints a (rewritten) parse tree back as SQL, with DuckDB's own printer. */
    static String deserialize(Connection session, JsonNode parsed) throws SQLException {
        try (PreparedStatement print = session.prepareStatement("SELECT json_deserialize_sql(?::JSON)")) {
            print.setString(1, parsed.toString());
            try (ResultSet rs = print.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    /** Adds the tables the parse tree names with a schema and no catalog, lower-case {@code schema.table}. */
    static void collectTables(JsonNode node, Set<String> named) {
        if (node.isObject() && "BASE_TABLE".equals(node.path("type").asText()) && node.path("catalog_name").asText().isEmpty()
                && !node.path("schema_name").asText().isEmpty()) {
            named.add((node.path("schema_name").asText() + "." + node.path("table_name").asText()).toLowerCase(Locale.ROOT));
        }
        for (JsonNode child : node) {
            collectTables(child, named);
        }
    }

    static String stripTrailingSemicolons(String sql) {
        String trimmed = sql.strip();
        while (trimmed.endsWith(";")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1).strip();
        }
        return trimmed;
    }

    /** The error a user sees for a statement DuckDB refused: forbidden (outside the sandbox), timed out, or invalid. */
    static WatershedException translate(SQLException e) {
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        if (message.contains("Permission Error") || message.contains("disabled by configuration")
                || message.contains("has been locked")) {
            return new WatershedException(ErrorCode.QUERY_FORBIDDEN, "Cannot run the query: it reaches outside the lake ("
                    + firstLine(message) + "). Queries may read lake tables by name, e.g. SELECT * FROM raw.clicks", e);
        }
        if (message.contains("INTERRUPT") || message.contains("Interrupted")) {
            return new WatershedException(ErrorCode.QUERY_TIMEOUT, "Cannot finish the query: it was cancelled", e);
        }
        return new WatershedException(ErrorCode.QUERY_INVALID, "Cannot run the query: " + firstLine(message), e);
    }

    private static String firstLine(String message) {
        String trimmed = message.strip();
        int newline = trimmed.indexOf('\n');
        return newline < 0 ? trimmed : trimmed.substring(0, newline) + " " + trimmed.substring(newline + 1).strip().split("\n")[0];
    }

    static String identifier(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }
}
