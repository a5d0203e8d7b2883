package io.watershed.stream;

import java.util.ArrayList;
import java.util.List;

/** Splits a SQL file into statements at semicolons outside quotes and comments, remembering where each starts. */
final class SqlScript {
    private SqlScript() {}

    /** One statement without its semicolon; line and column (1-based) of its first character in the file. */
    record Statement(String text, int line, int column) {}

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
                content = false;
            } else if (c == '\'' || c == '"' || c == '`') {
                int j = i + 1;
                while (j < sql.length()) {
                    if (sql.charAt(j) == c) {
                        if (j + 1 < sql.length() && sql.charAt(j + 1) == c) {
                            j += 2; // doubled quote: an escaped one
                            continue;
                        }
                        break;
                    }
                    j++;
                }
                consumed = Math.min(j + 1, sql.length()) - i;
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
