package io.watershed.server;

import io.watershed.spi.QueryEngine.QueryResult;
import java.util.List;

/** RFC 4180 CSV of a query result: a header line, then one line per row. */
final class Csv {
    private Csv() {}

    static String write(QueryResult result) {
        StringBuilder out = new StringBuilder();
        line(out, result.columns());
        for (List<Object> row : result.rows()) {
            line(out, row);
        }
        return out.toString();
    }

    private static void line(StringBuilder out, List<?> values) {
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            Object value = values.get(i);
            if (value != null) {
                String text = value.toString();
                if (text.indexOf(',') >= 0 || text.indexOf('"') >= 0 || text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0) {
                    out.append('"').append(text.replace("\"", "\"\"")).append('"');
                } else {
                    out.append(text);
                }
            }
        }
        out.append("\r\n");
    }
}
