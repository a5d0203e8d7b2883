package io.watershed.stream;

import java.util.ArrayList;
import java.util.List;

/** Splits a SQL file into statements at semicolons outside quotes and comments, remembering where each starts. */
final class SqlScript {
    private SqlScript() {}

    /**
     * One statement without its semicolon; line and column (1-based) of its first character in the file.
     *
     * @param shifts where the text got longer than the file ({line, column} in the statement, 2 characters each)
     */
    record Statement(String text, int line, int column, List<int[]> shifts) {
        Statement(String text, int line, int column) {
            this(text, line, column, List.of());
        }

        /**
         * The statement with the namespaces {@code raw} and {@code models} quoted where they name a lake table
         * ({@code raw.clicks}): Flink reserves RAW as a type name and MODELS as a keyword, and its parser would
         * refuse the lake's own naming.
         */
        Statement withRawQuoted() {
            return withQuoted(java.util.Set.of("raw", "models"));
        }

        /** The statement with each of {@code namespaces} quoted where it names a lake table ({@code <namespace>.<table>}). */
        Statement withQuoted(java.util.Set<String> namespaces) {
            StringBuilder out = new StringBuilder(text.length() + 8);
            List<int[]> added = new ArrayList<>();
            int line = 1;
            int column = 1;
            int i = 0;
            while (i < text.length()) {
                char c = text.charAt(i);
                int end = i + 1;
                if (c == '\'' || c == '"' || c == '`') {
                    end = closing(text, i);
                } else if (c == '-' && i + 1 < text.length() && text.charAt(i + 1) == '-') {
                    int eol = text.indexOf('\n', i);
                    end = eol < 0 ? text.length() : eol; // a comment: an apostrophe in it ("the shop's") opens no string
                } else if (c == '/' && i + 1 < text.length() && text.charAt(i + 1) == '*') {
                    int close = text.indexOf("*/", i + 2);
                    end = close < 0 ? text.length() : close + 2;
                } else if (Character.isLetter(c) && (i == 0 || !identifierPart(text.charAt(i - 1)))) {
                    int wordEnd = i;
                    while (wordEnd < text.length() && (Character.isLetterOrDigit(text.charAt(wordEnd)) || text.charAt(wordEnd) == '_')) {
                        wordEnd++;
                    }
                    String word = text.substring(i, wordEnd);
                    int k = wordEnd;
                    while (k < text.length() && (text.charAt(k) == ' ' || text.charAt(k) == '\t')) {
                        k++;
                    }
                    if (k < text.length() && text.charAt(k) == '.' && namespaces.contains(word.toLowerCase(java.util.Locale.ROOT))) {
                        out.append('`').append(word).append('`');
                        added.add(new int[] {line, column});
                    } else {
                        out.append(word);
                    }
                    column += word.length();
                    i = wordEnd;
                    continue;
                }
                for (int k = i; k < end; k++) {
                    char d = text.charAt(k);
                    out.append(d);
                    if (d == '\n') {
                        line++;
                        column = 1;
                    } else {
                        column++;
                    }
                }
                i = end;
            }
            return added.isEmpty() ? this : new Statement(out.toString(), this.line, this.column, List.copyOf(added));
        }

        /** A column the planner reports in this statement's text, as a column of the file's statement. */
        int fileColumn(int statementLine, int statementColumn) {
            int column = statementColumn;
            for (int[] shift : shifts) {
                if (shift[0] == statementLine && shift[1] < statementColumn) {
                    column -= 2;
                }
            }
            return column;
        }

        /** Part of a name, or of a qualified name before {@code raw} ({@code x.raw} is not the namespace). */
        private static boolean identifierPart(char c) {
            return Character.isLetterOrDigit(c) || c == '_' || c == '$' || c == '.' || c == '`';
        }
    }

    /** The index after the quote that closes the one at {@code start} (a doubled quote escapes it). */
    private static int closing(String sql, int start) {
        char quote = sql.charAt(start);
        int j = start + 1;
        while (j < sql.length()) {
            if (sql.charAt(j) == quote) {
                if (j + 1 < sql.length() && sql.charAt(j + 1) == quote) {
                    j += 2;
                    continue;
                }
                break;
            }
            j++;
        }
        return Math.min(j + 1, sql.length());
    }

    static List<Statement> split(String sql) {
        List<Statement> statements = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int line = 1;
        int column = 1;
        int startLine = -1;
        int startColumn = -1;
        int i = 0;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            int consumed = 1;
            boolean content = true;
            if (c == '-' && i + 1 < sql.length() && sql.charAt(i + 1) == '-') {
                int end = sql.indexOf('\n', i);
                consumed = (end < 0 ? sql.length() : end) - i;
                content = false;
            } else if (c == '/' && i + 1 < sql.length() && sql.charAt(i + 1) == '*') {
                int end = sql.indexOf("*/", i + 2);
                consumed = (end < 0 ? sql.length() : end + 2) - i;
                // a hint (/*+ OPTIONS(...) */) is part of the statement; other comments are not
                content = i + 2 < sql.length() && sql.charAt(i + 2) == '+';
            } else if (c == '\'' || c == '"' || c == '`') {
                consumed = closing(sql, i) - i;
            } else if (c == ';') {
                add(statements, current, startLine, startColumn);
                current.setLength(0);
                startLine = -1;
                content = false;
            }
            String piece = sql.substring(i, i + consumed);
            if (content) {
                if (startLine < 0 && !Character.isWhitespace(c)) {
                    startLine = line;
                    startColumn = column;
                }
                if (startLine >= 0) {
                    current.append(piece);
                }
            } else if (c != ';' && startLine >= 0) {
                current.append(' '); // a comment inside a statement separates tokens
            }
            for (int k = 0; k < piece.length(); k++) {
                if (piece.charAt(k) == '\n') {
                    line++;
                    column = 1;
                } else {
                    column++;
                }
            }
            i += consumed;
        }
        add(statements, current, startLine, startColumn);
        return statements;
    }

    private static void add(List<Statement> statements, StringBuilder text, int line, int column) {
        String statement = text.toString().strip();
        if (line >= 0 && !statement.isEmpty()) {
            statements.add(new Statement(statement, line, column));
        }
    }
}
