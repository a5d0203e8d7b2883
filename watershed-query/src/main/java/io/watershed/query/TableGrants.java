package io.watershed.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.ReadScope;
import io.watershed.spi.WatershedException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks a parsed statement (DuckDB's {@code json_serialize_sql}) against what a user may read, however it is written.
 * Every table reference is resolved the way DuckDB resolves it — a CTE name only where that CTE is in scope (earlier
 * CTEs of the same WITH, a recursive CTE only in its recursive branch), otherwise the catalog — and must name a lake or
 * live table the user may read. Files, replacement scans ({@code FROM 'x.parquet'}), catalog views
 * ({@code information_schema}, {@code pg_catalog}, {@code duckdb_*}), table functions other than a few generators,
 * functions that run SQL from a string or read settings, and {@code SHOW} are refused; {@code DESCRIBE} and
 * {@code SUMMARIZE} of a query are checked like the query. A table readable in some columns only is replaced by a view of
 * those columns (the rewrite is printed back to SQL with {@code json_deserialize_sql} and checked again).
 */
final class TableGrants {
    static final String GRANT_SCHEMA = "_grant";
    private static final Set<String> TABLE_FUNCTIONS = Set.of("range", "generate_series", "unnest", "json_each", "json_tree");
    private static final Set<String> DENIED_FUNCTIONS = Set.of("current_setting", "getvariable", "nextval", "currval", "setval",
            "format_type", "get_block_size", "sleep_ms", "json_serialize_sql", "json_deserialize_sql", "json_serialize_plan",
            "json_execute_serialized_sql", "query", "query_table", "histogram_values", "col_description",
            "obj_description", "shobj_description", "current_schemas", "current_database", "current_catalog");
    private static final List<String> DENIED_PREFIXES = List.of("pg_", "duckdb_", "has_", "read_", "parquet_", "sqlite_");
    private static final Set<String> TABLE_REFS = Set.of("BASE_TABLE", "EMPTY", "TABLE_FUNCTION", "JOIN", "SUBQUERY", "SHOW_REF",
            "PIVOT", "EXPRESSION_LIST");
    private static final Set<String> CATALOGS = Set.of("", "memory", LakeViews.COMMITTED);

    private final ReadScope scope;
    private final Set<String> known;
    private final Map<String, String> grantViews;
    /** Tables named, lower-case {@code schema.table}. */
    final Set<String> tables = new TreeSet<>();
    /** Column-limited references to replace: {@code catalog.schema.table} -> the columns. */
    final Map<String, Set<String>> limited = new HashMap<>();

    /**
     * @param known every lake and live table, lower-case {@code schema.table}
     * @param grantViews the views of column grants already made, by their name in {@value #GRANT_SCHEMA}; allowed only here
     */
    TableGrants(ReadScope scope, Set<String> known, Map<String, String> grantViews) {
        this.scope = scope;
        this.known = known;
        this.grantViews = grantViews;
    }

    /** An immutable list of CTE names visible at a point of the tree. */
    private record Scope(String name, Scope parent) {
        boolean has(String n) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.name.equals(n)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Walks the one statement of {@code parsed}; throws QUERY_FORBIDDEN at the first thing the user may not reach. */
    void check(JsonNode parsed) {
        for (JsonNode statement : parsed.path("statements")) {
            walk(statement.path("node"), null);
        }
    }

    private void walk(JsonNode n, Scope ctes) {
        if (n == null || n.isNull() || n.isValueNode()) {
            return;
        }
        if (n.isArray()) {
            for (JsonNode child : n) {
                walk(child, ctes);
            }
            return;
        }
        JsonNode cteMap = n.path("cte_map").path("map");
        if (cteMap.isArray() && !cteMap.isEmpty()) {
            Scope current = ctes;
            for (JsonNode entry : cteMap) {
                String name = entry.path("key").asText().toLowerCase(Locale.ROOT);
                if (name.contains(".") || name.contains("/") || name.contains("*")) {
                    throw forbidden("Cannot name a CTE '" + name + "': use a plain name without '.', '/' or '*'");
                }
                JsonNode body = entry.path("value").path("query_node");
                if ("RECURSIVE_CTE_NODE".equals(body.path("type").asText())) {
                    // the anchor (left) resolves the CTE's own name in the catalog; only the recursive branch sees itself
                    Iterator<Map.Entry<String, JsonNode>> fields = entry.path("value").fields();
                    while (fields.hasNext()) {
                        Map.Entry<String, JsonNode> f = fields.next();
                        if (!f.getKey().equals("query_node")) {
                            walk(f.getValue(), current);
                        }
                    }
                    Iterator<Map.Entry<String, JsonNode>> parts = body.fields();
                    while (parts.hasNext()) {
                        Map.Entry<String, JsonNode> p = parts.next();
                        walk(p.getValue(), p.getKey().equals("right") ? new Scope(name, current) : current);
                    }
                } else {
                    walk(entry.path("value"), current);
                }
                current = new Scope(name, current);
            }
            Iterator<Map.Entry<String, JsonNode>> fields = n.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                if (!f.getKey().equals("cte_map")) {
                    walk(f.getValue(), current);
                }
            }
            return;
        }
        boolean tableRef = n.has("type") && !n.has("class") && n.has("alias") && n.has("sample");
        if (tableRef) {
            String type = n.path("type").asText();
            if (!TABLE_REFS.contains(type)) {
                throw forbidden("Cannot read from a " + type + " here: it is for admins");
            }
            switch (type) {
                case "BASE_TABLE" -> baseTable((ObjectNode) n, ctes);
                case "TABLE_FUNCTION" -> {
                    JsonNode function = n.path("function");
                    String name = function.path("function_name").asText().toLowerCase(Locale.ROOT);
                    if (!TABLE_FUNCTIONS.contains(name) || qualified(function)) {
                        throw forbidden("Cannot call the table function " + name + "(): reading files, settings and the catalog "
                                + "is for admins; read lake tables by name (SELECT * FROM raw.clicks), GET /v1/tables lists them");
                    }
                    walk(function.path("children"), ctes);
                    walk(function.path("arguments"), ctes);
                    Iterator<Map.Entry<String, JsonNode>> fields = n.fields();
                    while (fields.hasNext()) {
                        Map.Entry<String, JsonNode> f = fields.next();
                        if (!f.getKey().equals("function")) {
                            walk(f.getValue(), ctes);
                        }
                    }
                    return;
                }
                case "SHOW_REF" -> {
                    String show = n.path("show_type").asText();
                    if (!(show.equals("DESCRIBE") || show.equals("SUMMARY")) || n.path("query").isNull() || n.path("query").isMissingNode()) {
                        throw forbidden("Cannot run SHOW here: it is for admins; DESCRIBE SELECT ... or GET /v1/tables shows the "
                                + "columns of the tables you may read");
                    }
                }
                default -> {
                }
            }
        }
        if (n.has("function_name")) {
            String name = n.path("function_name").asText().toLowerCase(Locale.ROOT);
            if (DENIED_FUNCTIONS.contains(name) || DENIED_PREFIXES.stream().anyMatch(name::startsWith) || qualified(n)) {
                throw forbidden("Cannot call " + name + "(): it reads settings, the catalog or runs SQL from a string, which is for "
                        + "admins");
            }
        }
        Iterator<Map.Entry<String, JsonNode>> fields = n.fields();
        while (fields.hasNext()) {
            walk(fields.next().getValue(), ctes);
        }
    }

    private static boolean qualified(JsonNode function) {
        String catalog = function.path("catalog").asText("").toLowerCase(Locale.ROOT);
        String schema = function.path("schema").asText("").toLowerCase(Locale.ROOT);
        return !(catalog.isEmpty() || catalog.equals("system")) || !(schema.isEmpty() || schema.equals("main"));
    }

    private void baseTable(ObjectNode n, Scope ctes) {
        String catalog = lower(n, "catalog_name");
        String schema = lower(n, "schema_name");
        String table = lower(n, "table_name");
        List<String> path = new ArrayList<>();
        n.path("qualified_name").path("path").forEach(p -> path.add(p.asText().toLowerCase(Locale.ROOT)));
        List<String> fields = new ArrayList<>();
        for (String part : new String[] {catalog, schema, table}) {
            if (!part.isEmpty()) {
                fields.add(part);
            }
        }
        if (!path.isEmpty() && !path.equals(fields)) {
            throw forbidden("Cannot read '" + String.join(".", path) + "': the reference is ambiguous");
        }
        if (catalog.isEmpty() && schema.isEmpty()) {
            if (ctes != null && ctes.has(table)) {
                return;
            }
            throw forbidden("Cannot read '" + table + "': name lake tables with their schema (raw.clicks, models.daily_top); files "
                    + "and catalog views are for admins");
        }
        if (!CATALOGS.contains(catalog)) {
            throw forbidden("Cannot read '" + String.join(".", fields) + "': only lake tables (raw.clicks) and their committed "
                    + "snapshots (committed.raw.clicks) can be read");
        }
        String name = schema + "." + table;
        if (schema.equals(GRANT_SCHEMA) && grantViews.containsKey(table) && catalog.isEmpty()) {
            return; // the column view this check put here on its first pass
        }
        if (!known.contains(name) || schema.startsWith("_")) {
            throw forbidden("Cannot read " + name + ": it does not exist, or user '" + scope.user() + "' may not read it");
        }
        Optional<Set<String>> columns = scope.columns(name);
        if (columns.isEmpty()) {
            throw forbidden("Cannot read " + name + ": it does not exist, or user '" + scope.user() + "' may not read it. An admin "
                    + "can grant it: watershed access grant <role> read table:" + name);
        }
        JsonNode at = n.path("at_clause");
        if (!at.isNull() && !at.isMissingNode()) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot read " + name + " AT (...): lake tables are read at their "
                    + "current snapshot (raw tables with their fresh tail; committed." + name + " the last commit alone)");
        }
        tables.add(name);
        if (!columns.get().isEmpty()) {
            limited.put((catalog.isEmpty() ? "memory" : catalog) + "." + name, columns.get());
        }
    }

    /**
     * Replaces each column-limited reference with its view ({@code viewFor} makes or finds it, given
     * {@code catalog.schema.table}), and qualified column references {@code raw.users.id} with {@code users.id}.
     */
    static void rewrite(JsonNode n, Map<String, String> views, Set<List<String>> strip) {
        if (n == null || n.isValueNode()) {
            return;
        }
        if (n.isObject() && "BASE_TABLE".equals(n.path("type").asText()) && !n.has("class")) {
            ObjectNode o = (ObjectNode) n;
            String catalog = lower(o, "catalog_name");
            String schema = lower(o, "schema_name");
            String table = lower(o, "table_name");
            String view = schema.isEmpty() ? null : views.get((catalog.isEmpty() ? "memory" : catalog) + "." + schema + "." + table);
            if (view != null) {
                o.put("catalog_name", "");
                o.put("schema_name", GRANT_SCHEMA);
                o.put("table_name", view);
                if (o.path("alias").asText("").isEmpty()) {
                    o.put("alias", table);
                    strip.add(List.of(schema, table));
                }
                ArrayNode path = o.putObject("qualified_name").putArray("path");
                path.add(GRANT_SCHEMA).add(view);
                return;
            }
        }
        for (JsonNode child : n) {
            rewrite(child, views, strip);
        }
    }

    /** {@code raw.users.id} and {@code memory.raw.users.id} become {@code users.id} where raw.users was replaced without an alias. */
    static void stripColumnReferences(JsonNode n, Set<List<String>> strip) {
        if (n == null || n.isValueNode()) {
            return;
        }
        if (n.isObject() && "COLUMN_REF".equals(n.path("class").asText()) && n.path("column_names").isArray()) {
            ArrayNode names = (ArrayNode) n.path("column_names");
            List<String> parts = new ArrayList<>();
            names.forEach(x -> parts.add(x.asText().toLowerCase(Locale.ROOT)));
            for (List<String> st : strip) {
                int drop = parts.size() >= 3 && parts.subList(0, 2).equals(st) ? 1
                        : parts.size() >= 4 && CATALOGS.contains(parts.get(0)) && parts.subList(1, 3).equals(st) ? 2 : 0;
                for (int i = 0; i < drop; i++) {
                    names.remove(0);
                }
                if (drop > 0) {
                    break;
                }
            }
        }
        for (JsonNode child : n) {
            stripColumnReferences(child, strip);
        }
    }

    private static String lower(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? "" : v.asText().toLowerCase(Locale.ROOT);
    }

    private WatershedException forbidden(String message) {
        return new WatershedException(ErrorCode.QUERY_FORBIDDEN, message);
    }
}
