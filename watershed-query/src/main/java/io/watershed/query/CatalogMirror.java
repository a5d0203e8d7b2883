package io.watershed.query;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.QueryEngine.Cursor;
import io.watershed.spi.QueryEngine.Description;
import io.watershed.spi.WatershedException;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.duckdb.DuckDBConnection;

/**
 * The catalog one user sees ({@link QueryEngine#catalog}): an in-memory DuckDB database of its own holding, as empty
 * tables, exactly the tables and columns the user may read, so that DuckDB's {@code pg_catalog} and
 * {@code information_schema} answer clients' schema discovery (psql's {@code \dt} and {@code \d}, JDBC's
 * {@code DatabaseMetaData}) from them and from nothing else. The database is built again when what the user may read
 * changes; its table oids stay the same between two statements otherwise (psql asks for a table's oid, then its
 * columns by that oid). Postgres spellings DuckDB does not take ({@code OPERATOR(pg_catalog.~)}, {@code ::regclass},
 * {@code COLLATE pg_catalog.default}) are rewritten in the text first; only a SELECT runs, sandboxed like the lake's.
 */
final class CatalogMirror implements QueryEngine.Catalog {
    /** A table as the user may read it. */
    record Table(String schema, String name, List<Column> columns) {}

    record Column(String name, String sqlType) {}

    /**
     * What psql and JDBC read that DuckDB's {@code pg_catalog} lacks or answers in its own terms, made in {@code main}
     * (which an unqualified name finds first; the rewrite drops {@code pg_catalog.}): functions, the empty catalogs of
     * features the lake has not (policies, publications, inheritance, triggers, roles), {@code pg_class} and {@code information_schema}'s
     * tables, columns, views and schemata without these helpers, and {@code pg_attribute}, {@code pg_type} and {@code format_type} in Postgres' type oids and names.
     */
    private static final List<String> MACROS = List.of(
            "CREATE MACRO pg_get_userbyid(id) AS 'watershed'",
            "CREATE MACRO pg_table_is_visible(id) AS true",
            "CREATE VIEW information_schema_tables AS SELECT * FROM information_schema.tables WHERE table_schema <> 'main'",
            "CREATE VIEW information_schema_columns AS SELECT * FROM information_schema.columns WHERE table_schema <> 'main'",
            "CREATE VIEW information_schema_views AS SELECT * FROM information_schema.views WHERE table_schema <> 'main'",
            "CREATE VIEW information_schema_schemata AS SELECT * FROM information_schema.schemata WHERE schema_name <> 'main'",
            "CREATE MACRO pg_get_expr(expr, relation) AS NULL::VARCHAR, (expr, relation, pretty) AS NULL::VARCHAR",
            "CREATE MACRO pg_encoding_to_char(e) AS 'UTF8'",
            "CREATE MACRO pg_get_statisticsobjdef_columns(id) AS NULL::VARCHAR",
            "CREATE MACRO pg_relation_is_publishable(id) AS false",
            "CREATE MACRO pg_partition_ancestors(id) AS NULL::BIGINT",
            "CREATE MACRO pg_get_indexdef(a, b, c) AS NULL::VARCHAR",
            "CREATE MACRO array_upper(a, d) AS len(a)",
            "CREATE VIEW pg_class AS SELECT *, false AS relforcerowsecurity FROM pg_catalog.pg_class WHERE relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'main')",
            "CREATE TABLE pg_policy(polname VARCHAR, polpermissive BOOLEAN, polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR, polcmd VARCHAR, polrelid BIGINT)",
            "CREATE TABLE pg_statistic_ext(oid BIGINT, stxrelid BIGINT, stxnamespace BIGINT, stxname VARCHAR, stxkind VARCHAR[], stxstattarget INTEGER)",
            "CREATE TABLE pg_publication(oid BIGINT, pubname VARCHAR, puballtables BOOLEAN)",
            "CREATE TABLE pg_publication_namespace(pnpubid BIGINT, pnnspid BIGINT)",
            "CREATE TABLE pg_publication_rel(prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs SMALLINT[])",
            "CREATE TABLE pg_inherits(inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN)",
            "CREATE TABLE pg_trigger(oid BIGINT, tgrelid BIGINT, tgname VARCHAR, tgenabled VARCHAR, tgisinternal BOOLEAN, tgparentid BIGINT)",
            "CREATE TABLE pg_roles(oid BIGINT, rolname VARCHAR, rolsuper BOOLEAN, rolinherit BOOLEAN, rolcreaterole BOOLEAN, rolcreatedb BOOLEAN, rolcanlogin BOOLEAN, rolconnlimit INTEGER, rolvaliduntil TIMESTAMP, rolreplication BOOLEAN, rolbypassrls BOOLEAN)",
            "CREATE MACRO pg_oid_of(t) AS CASE WHEN t LIKE 'numeric%' THEN 1700 WHEN t IN ('list', 'struct', 'map', 'union') THEN 114 ELSE coalesce(map_extract_value(MAP {'bool': 16, 'bytea': 17, 'blob': 17, 'int8': 20, 'int2': 21, 'int4': 23, 'text': 25, 'float4': 700, 'float8': 701, 'varchar': 1043, 'date': 1082, 'time': 1083, 'timestamp': 1114, 'timestamptz': 1184, 'interval': 1186, 'uuid': 2950, 'json': 114}, t), 25) END",
            "CREATE VIEW pg_attribute AS SELECT * REPLACE (pg_oid_of(pg_catalog.format_type(atttypid, atttypmod)) AS atttypid, CASE WHEN pg_catalog.format_type(atttypid, atttypmod) LIKE 'numeric(%' THEN (((atttypmod // 1000) << 16) | (atttypmod % 1000)) + 4 ELSE -1 END AS atttypmod, CASE WHEN pg_catalog.format_type(atttypid, atttypmod) IN ('list', 'struct', 'map', 'union') THEN -1 ELSE attlen END AS attlen) FROM pg_catalog.pg_attribute",
            "CREATE TABLE pg_type AS SELECT * FROM (VALUES (16, 'bool', 1), (17, 'bytea', -1), (20, 'int8', 8), (21, 'int2', 2), (23, 'int4', 4), (25, 'text', -1), (114, 'json', -1), (700, 'float4', 4), (701, 'float8', 8), (1043, 'varchar', -1), (1082, 'date', 4), (1083, 'time', 8), (1114, 'timestamp', 8), (1184, 'timestamptz', 8), (1186, 'interval', 16), (1700, 'numeric', -1), (2950, 'uuid', 16)) t(oid, typname, typlen), (SELECT 11 AS typnamespace, 10 AS typowner, 'b' AS typtype, false AS typnotnull, 0 AS typbasetype, -1 AS typtypmod, 0 AS typcollation, 0 AS typrelid, 0 AS typelem, 0 AS typarray, ',' AS typdelim, 'U' AS typcategory, 'pg_catalog.textin' AS typinput, 0 AS typndims, true AS typisdefined)",
            "CREATE MACRO format_type(t, m) AS CASE WHEN t = 1700 AND m > 4 THEN 'numeric(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')' ELSE coalesce(map_extract_value(MAP {16: 'boolean', 17: 'bytea', 20: 'bigint', 21: 'smallint', 23: 'integer', 25: 'text', 114: 'json', 700: 'real', 701: 'double precision', 1043: 'character varying', 1082: 'date', 1083: 'time without time zone', 1114: 'timestamp without time zone', 1184: 'timestamp with time zone', 1186: 'interval', 1700: 'numeric', 2950: 'uuid'}, t), 'text') END");

    private static final Pattern OPERATOR = Pattern.compile("(?i)OPERATOR\\s*\\(\\s*pg_catalog\\s*\\.\\s*([^)\\s]+)\\s*\\)");
    private static final Pattern COLLATE = Pattern.compile("(?i)\\s+COLLATE\\s+pg_catalog\\.\"?default\"?");
    private static final Pattern REGCLASS_LITERAL = Pattern.compile("(?i)'([a-z_]+)'\\s*::\\s*(pg_catalog\\.)?regclass");
    private static final Pattern OID_TYPES = Pattern.compile("(?i)::\\s*(pg_catalog\\.)?(regclass|regproc|regprocedure|regtype|regnamespace|regrole|oid)\\b");
    private static final Pattern INFORMATION_SCHEMA = Pattern.compile("(?i)\\binformation_schema\\s*\\.\\s*(tables|columns|views|schemata)\\b");
    private static final Pattern QUALIFIER = Pattern.compile("(?i)\\bpg_catalog\\s*\\.\\s*");

    private final Supplier<List<Table>> readable;
    private final Duration timeout;
    private List<Table> shown;
    private DuckDBConnection database;

    CatalogMirror(Supplier<List<Table>> readable, Duration timeout) {
        this.readable = readable;
        this.timeout = timeout;
    }

    @Override
    public synchronized Description describe(String sql) {
        try (DuckDBConnection session = current().duplicate(); PreparedStatement statement = session.prepareStatement(checked(sql))) {
            return DuckDbCursor.describe(statement, true);
        } catch (SQLException e) {
            throw DuckDbSql.translate(e);
        }
    }

    @Override
    public synchronized Cursor open(String sql, List<Object> parameters) {
        try {
            DuckDBConnection mirror = current();
            return DuckDbCursor.open(mirror.duplicate(), checked(sql), parameters, timeout, List.of(),
                    new java.util.concurrent.locks.ReentrantLock(), () -> {});
        } catch (SQLException e) {
            throw DuckDbSql.translate(e);
        }
    }

    /** The statement as DuckDB takes it, when it is one SELECT. */
    private String checked(String sql) throws SQLException {
        String rewritten = rewrite(sql);
        try (DuckDBConnection parser = database.duplicate()) {
            java.util.Set<String> named = new java.util.HashSet<>();
            DuckDbSql.collectTables(DuckDbSql.checkSingleSelect(parser, rewritten), named);
            // the mirror's tables are empty: a lake table beside the catalog would answer no rows, silently
            for (Table table : shown) {
                if (named.contains((table.schema() + "." + table.name()).toLowerCase(java.util.Locale.ROOT))) {
                    throw new io.watershed.spi.WatershedException(io.watershed.spi.ErrorCode.QUERY_INVALID, "Cannot read "
                            + table.schema() + "." + table.name() + " in a statement that also asks the catalog (pg_*, "
                            + "information_schema, version(), current_user): ask them in two statements");
                }
            }
        }
        return DuckDbSql.stripTrailingSemicolons(rewritten);
    }

    static String rewrite(String sql) {
        String s = OPERATOR.matcher(sql).replaceAll(m -> Matcher.quoteReplacement(m.group(1)));
        s = COLLATE.matcher(s).replaceAll("");
        s = REGCLASS_LITERAL.matcher(s).replaceAll(m -> "(SELECT oid FROM pg_class WHERE relname = '" + m.group(1) + "')");
        s = OID_TYPES.matcher(s).replaceAll("::BIGINT");
        s = QUALIFIER.matcher(s).replaceAll("");
        s = INFORMATION_SCHEMA.matcher(s).replaceAll(m -> "information_schema_" + m.group(1).toLowerCase(java.util.Locale.ROOT));
        return s;
    }

    /** The database of what the user may read now, built again when that changed. */
    private DuckDBConnection current() throws SQLException {
        List<Table> now = readable.get();
        if (database != null && now.equals(shown)) {
            return database;
        }
        close();
        Properties properties = new Properties();
        properties.setProperty("autoinstall_known_extensions", "false");
        properties.setProperty("autoload_known_extensions", "false");
        properties.setProperty("jdbc_stream_results", "true");
        // a connection's copy of the catalog: small, and never a way around query.memory_limit
        properties.setProperty("memory_limit", "64MB");
        properties.setProperty("threads", "1");
        DuckDBConnection made = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:", properties);
        try (Statement s = made.createStatement()) {
            for (String schema : now.stream().map(Table::schema).distinct().sorted().toList()) {
                s.execute("CREATE SCHEMA IF NOT EXISTS " + DuckDbSql.identifier(schema));
            }
            for (Table t : now) {
                s.execute("CREATE TABLE " + DuckDbSql.identifier(t.schema()) + "." + DuckDbSql.identifier(t.name()) + " ("
                        + t.columns().stream().map(c -> DuckDbSql.identifier(c.name()) + " " + c.sqlType())
                                .collect(Collectors.joining(", ")) + ")");
            }
            for (String macro : MACROS) {
                s.execute(macro);
            }
            s.execute("SET enable_external_access = false");
            s.execute("SET allow_community_extensions = false");
            s.execute("SET lock_configuration = true");
        } catch (SQLException e) {
            made.close();
            throw new WatershedException(ErrorCode.INTERNAL, "Cannot build the catalog of the readable tables: " + e.getMessage(), e);
        }
        database = made;
        shown = now;
        return made;
    }

    @Override
    public synchronized void close() {
        if (database != null) {
            try {
                database.close();
            } catch (SQLException e) {
                // an in-memory database: nothing is lost
            }
            database = null;
        }
    }
}
