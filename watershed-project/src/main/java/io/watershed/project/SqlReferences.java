package io.watershed.project;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Finds the tables a query reads, with their positions, without a catalog: the names that follow
 * {@code FROM}, {@code JOIN} and {@code TABLE}, and those in a {@code FROM a, b} list, skipping
 * comments, string literals, {@code {{ ... }}} variables, subqueries and the names of common table
 * expressions. A dbt-style reading of the SQL: enough to order a DAG and point at a missing table;
 * the planner has the final word.
 */
public final class SqlReferences {
    private static final Set<String> CLAUSE_ENDS = Set.of("where", "group", "order", "having", "limit", "union", "except",
            "intersect", "on", "using", "window", "select", "qualify", "match_recognize", "for", "minus", "fetch", "offset");

    private static final java.util.regex.Pattern INSERT = java.util.regex.Pattern.compile(
            "(?i)\\bINSERT\\s+INTO\\s+`?([A-Za-z_]\\w*)`?\\s*\\.\\s*`?([A-Za-z_]\\w*)`?(?!\\s*\\.)");
    private static final java.util.regex.Pattern LIVE_VIEW = java.util.regex.Pattern.compile(
            "(?i)\\bCREATE\\s+LIVE\\s+VIEW\\s+`?([A-Za-z_]\\w*)`?");

    private SqlReferences() {}

    /**
     * What a pipeline's SQL writes, as the runner names it: {@code <namespace>.<table>}, {@code streams.<name>}
     * and {@code live.<view>}, lower-cased, in order of appearance.
     */
    public static java.util.Set<String> pipelineOutputs(String sql) {
        java.util.Set<String> outputs = new java.util.LinkedHashSet<>();
        java.util.regex.Matcher insert = INSERT.matcher(sql);
        while (insert.find()) {
            outputs.add(insert.group(1).toLowerCase(Locale.ROOT) + "." + insert.group(2).toLowerCase(Locale.ROOT));
        }
        java.util.regex.Matcher live = LIVE_VIEW.matcher(sql);
        while (live.find()) {
            outputs.add("live." + live.group(1).toLowerCase(Locale.ROOT));
        }
        return outputs;
    }

    /**
     * A table name as written: its parts ({@code [name]}, {@code [namespace, name]} or {@code [catalog, namespace,
     * name]}), lower-cased unless quoted, and where it starts (1-based).
     */
    public record Reference(List<String> parts, int line, int column) {}

    private enum Kind { WORD, QUOTED, DOT, COMMA, OPEN, CLOSE, OTHER }

    private record Token(Kind kind, String text, int line, int column) {
        boolean keyword(String word) {
            return kind == Kind.WORD && text.equalsIgnoreCase(word);
        }

        boolean name() {
            return kind == Kind.WORD || kind == Kind.QUOTED;
        }

        String value() {
            return kind == Kind.QUOTED ? text : text.toLowerCase(Locale.ROOT);
        }
    }

    /** The tables {@code sql} reads, in order of appearance, duplicates included. */
    public static List<Reference> of(String sql) {
        List<Token> tokens = tokens(sql);
        Set<String> cteNames = new HashSet<>();
        List<Reference> references = new ArrayList<>();
        // per parenthesis depth: whether a FROM list is open there (a comma then starts another table)
        boolean[] fromList = new boolean[tokens.size() + 2];
        int depth = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            switch (t.kind()) {
                case OPEN -> {
                    depth++;
                    fromList[depth] = false;
                    continue;
                }
                case CLOSE -> {
                    fromList[depth] = false;
                    depth = Math.max(0, depth - 1);
                    continue;
                }
                default -> { }
            }
            if (t.kind() == Kind.WORD && i + 2 < tokens.size() && tokens.get(i + 1).keyword("as")
                    && tokens.get(i + 2).kind() == Kind.OPEN && (i > 0 && (tokens.get(i - 1).keyword("with")
                    || tokens.get(i - 1).kind() == Kind.COMMA))) {
                cteNames.add(t.value()); // WITH name AS ( ... ), name AS ( ... )
            }
            if (t.kind() == Kind.WORD && CLAUSE_ENDS.contains(t.text().toLowerCase(Locale.ROOT))) {
                fromList[depth] = false;
            }
            boolean tablePosition = t.keyword("from") || t.keyword("join") || t.keyword("table")
                    || (t.kind() == Kind.COMMA && fromList[depth]);
            if (t.keyword("from")) {
                fromList[depth] = true;
            }
            if (!tablePosition || i + 1 >= tokens.size() || !tokens.get(i + 1).name()) {
                continue;
            }
            if (t.keyword("table") && i > 0 && !(tokens.get(i - 1).kind() == Kind.OPEN || tokens.get(i - 1).kind() == Kind.COMMA
                    || tokens.get(i - 1).keyword("from") || tokens.get(i - 1).keyword("join"))) {
                continue; // CREATE TABLE, ALTER TABLE ...: not a read
            }
            Token first = tokens.get(i + 1);
            if (first.kind() == Kind.WORD && Set.of("lateral", "unnest", "table", "select").contains(first.value())) {
                continue;
            }
            List<String> parts = new ArrayList<>();
            parts.add(first.value());
            int j = i + 2;
            while (j + 1 < tokens.size() && tokens.get(j).kind() == Kind.DOT && tokens.get(j + 1).name()) {
                parts.add(tokens.get(j + 1).value());
                j += 2;
            }
            if (j < tokens.size() && tokens.get(j).kind() == Kind.OPEN) {
                continue; // a function call
            }
            if (parts.size() == 1 && cteNames.contains(parts.get(0))) {
                continue;
            }
            references.add(new Reference(List.copyOf(parts), first.line(), first.column()));
        }
        return references;
    }

    private static List<Token> tokens(String sql) {
        List<Token> tokens = new ArrayList<>();
        int line = 1;
        int lineStart = 0;
        int i = 0;
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            int column = i - lineStart + 1;
            if (c == '\n') {
                line++;
                lineStart = i + 1;
                i++;
            } else if (Character.isWhitespace(c)) {
                i++;
            } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                while (i < n && sql.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
                int end = sql.indexOf("*/", i + 2);
                end = end < 0 ? n : end + 2;
                for (int k = i; k < end; k++) {
                    if (sql.charAt(k) == '\n') {
                        line++;
                        lineStart = k + 1;
                    }
                }
                i = end;
            } else if (c == '{' && i + 1 < n && sql.charAt(i + 1) == '{') {
                int end = sql.indexOf("}}", i + 2);
                i = end < 0 ? n : end + 2;
                tokens.add(new Token(Kind.OTHER, "{{}}", line, column));
            } else if (c == '\'' || c == '"') {
                int k = i + 1;
                while (k < n) {
                    if (sql.charAt(k) == c) {
                        if (k + 1 < n && sql.charAt(k + 1) == c) {
                            k += 2;
                            continue;
                        }
                        break;
                    }
                    if (sql.charAt(k) == '\n') {
                        line++;
                        lineStart = k + 1;
                    }
                    k++;
                }
                tokens.add(new Token(Kind.OTHER, "'", line, column));
                i = Math.min(n, k + 1);
            } else if (c == '`') {
                int end = sql.indexOf('`', i + 1);
                end = end < 0 ? n : end;
                tokens.add(new Token(Kind.QUOTED, sql.substring(i + 1, end), line, column));
                i = Math.min(n, end + 1);
            } else if (Character.isLetter(c) || c == '_') {
                int k = i;
                while (k < n && (Character.isLetterOrDigit(sql.charAt(k)) || sql.charAt(k) == '_' || sql.charAt(k) == '$')) {
                    k++;
                }
                tokens.add(new Token(Kind.WORD, sql.substring(i, k), line, column));
                i = k;
            } else {
                Kind kind = switch (c) {
                    case '.' -> Kind.DOT;
                    case ',' -> Kind.COMMA;
                    case '(' -> Kind.OPEN;
                    case ')' -> Kind.CLOSE;
                    default -> Kind.OTHER;
                };
                if (kind == Kind.DOT && !tokens.isEmpty() && i + 1 < n && Character.isDigit(sql.charAt(i + 1))) {
                    kind = Kind.OTHER; // a decimal point
                }
                tokens.add(new Token(kind, String.valueOf(c), line, column));
                i++;
            }
        }
        return tokens;
    }
}
