package io.watershed.pgwire;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a statement is, before anything runs it: a session command answered here ({@code SET}, {@code SHOW},
 * {@code BEGIN}, {@code COMMIT}...), a question to the catalog (it names {@code pg_catalog}, {@code information_schema} or
 * a catalog function), or a query of the lake. Also splits a simple query's text into its statements.
 */
final class PgStatements {
    enum Kind { EMPTY, SESSION, SHOW, CATALOG, QUERY }

    /** A classified statement; {@code tag} is the command tag of a session command, {@code setting} the name SHOW asks for. */
    record Statement(String sql, Kind kind, String tag, String setting) {}

    private static final Pattern SHOW = Pattern.compile("(?is)\\s*SHOW\\s+(.+?)\\s*;?\\s*");
    private static final Pattern CATALOG = Pattern.compile("(?i)\\b(pg_catalog|information_schema|pg_[a-z_]+|current_schemas?|"
            + "current_database|current_user|session_user|current_setting|has_[a-z_]+_privilege|format_type|obj_description|"
            + "col_description)\\b|\\bversion\\s*\\(\\s*\\)");

    /** What SHOW answers; the parameters sent at startup are among them. */
    static final Map<String, String> SETTINGS = Map.ofEntries(
            Map.entry("server_version", "16.0"),
            Map.entry("server_version_num", "160000"),
            Map.entry("server_encoding", "UTF8"),
            Map.entry("client_encoding", "UTF8"),
            Map.entry("datestyle", "ISO, MDY"),
            Map.entry("intervalstyle", "postgres"),
            Map.entry("integer_datetimes", "on"),
            Map.entry("standard_conforming_strings", "on"),
            Map.entry("timezone", "UTC"),
            Map.entry("transaction_isolation", "read committed"),
            Map.entry("transaction isolation level", "read committed"),
            Map.entry("transaction_read_only", "on"),
            Map.entry("default_transaction_read_only", "on"),
            Map.entry("search_path", "\"$user\", public"),
            Map.entry("max_identifier_length", "63"),
            Map.entry("is_superuser", "off"),
            Map.entry("lc_collate", "C"),
            Map.entry("lc_ctype", "C"),
            Map.entry("extra_float_digits", "3"),
            Map.entry("statement_timeout", "0"));

    private PgStatements() {}

    static Statement classify(String sql) {
        String text = stripComments(sql).strip();
        while (text.endsWith(";")) {
            text = text.substring(0, text.length() - 1).strip();
        }
        if (text.isEmpty()) {
            return new Statement(sql, Kind.EMPTY, "", null);
        }
        String lower = text.toLowerCase(Locale.ROOT);
        String first = lower.split("\\s+", 2)[0];
        Matcher show = SHOW.matcher(text);
        if (first.equals("show") && show.matches()) {
            String name = show.group(1).toLowerCase(Locale.ROOT).replaceAll("\\s+", " ").replace("\"", "");
            return new Statement(sql, Kind.SHOW, "SHOW", name);
        }
        Optional<String> tag = switch (first) {
            case "begin", "start" -> Optional.of("BEGIN");
            case "commit", "end" -> Optional.of("COMMIT");
            case "rollback", "abort" -> Optional.of("ROLLBACK");
            case "set" -> Optional.of("SET");
            case "reset" -> Optional.of("RESET");
            case "discard" -> Optional.of("DISCARD ALL");
            case "deallocate" -> Optional.of("DEALLOCATE");
            case "listen" -> Optional.of("LISTEN");
            case "unlisten" -> Optional.of("UNLISTEN");
            default -> Optional.empty();
        };
        if (tag.isPresent()) {
            return new Statement(sql, Kind.SESSION, tag.get(), null);
        }
        if (CATALOG.matcher(withoutStrings(text)).find()) {
            return new Statement(sql, Kind.CATALOG, "SELECT", null);
        }
        return new Statement(sql, Kind.QUERY, "SELECT", null);
    }

    /** The statements of a simple query, split at semicolons outside quotes, comments and dollar quotes. */
    static List<String> split(String sql) {
        List<String> statements = new ArrayList<>();
        int start = 0;
        int i = 0;
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (c == '\'' || c == '"') {
                i = sql.indexOf(c, i + 1);
                while (i >= 0 && i + 1 < n && sql.charAt(i + 1) == c) {
                    i = sql.indexOf(c, i + 2);
                }
                i = i < 0 ? n : i + 1;
            } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                int end = sql.indexOf('\n', i);
                i = end < 0 ? n : end + 1;
            } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
                int end = sql.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
            } else if (c == '$') {
                Matcher tag = Pattern.compile("\\$[A-Za-z_]*\\$").matcher(sql).region(i, n);
                if (tag.lookingAt()) {
                    int end = sql.indexOf(tag.group(), tag.end());
                    i = end < 0 ? n : end + tag.group().length();
                } else {
                    i++;
                }
            } else if (c == ';') {
                statements.add(sql.substring(start, i + 1));
                start = i + 1;
                i++;
            } else {
                i++;
            }
        }
        if (!sql.substring(start).isBlank() || statements.isEmpty()) {
            statements.add(sql.substring(start));
        }
        return statements;
    }

    private static String stripComments(String sql) {
        return sql.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("--[^\\n]*", " ");
    }

    private static String withoutStrings(String sql) {
        return sql.replaceAll("'(?:[^']|'')*'", "''");
    }
}
