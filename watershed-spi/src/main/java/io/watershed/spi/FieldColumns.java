package io.watershed.spi;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * How the fields of events become the columns of a stream's raw lake table ({@code raw.<stream>}), one rule for every
 * input. A field keeps its own name as its column's name when it can: it has no {@code '.'} (Iceberg reads a dot as
 * nesting) and no column has that name in any letter case (SQL engines such as DuckDB take {@code User} and
 * {@code user} for one name). Otherwise its column gets a safe name: each {@code '.'} becomes {@code '_'} (the
 * convention of Logstash's {@code de_dot} filter and Fluent Bit's {@code Replace_Dots}), then {@code _2}, {@code _3}...
 * is appended until no column has the name in any letter case. Such a column's doc names the field it holds
 * ({@link #doc}), in the same schema commit as the column, so the mapping is read back from the table itself and
 * stays the same across restarts and instances.
 */
public final class FieldColumns {
    /** What a renamed column's doc starts with; the field's name follows in double quotes. */
    public static final String DOC_PREFIX = "Event field \"";

    private FieldColumns() {}

    /**
     * The doc of a column holding {@code field} under another name: {@code Event field "<field>"}, where a {@code "} or
     * {@code \} in the name is preceded by {@code \}, so {@code http.status} gives {@code Event field "http.status"}.
     */
    public static String doc(String field) {
        StringBuilder doc = new StringBuilder(DOC_PREFIX.length() + field.length() + 1).append(DOC_PREFIX);
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '"' || c == '\\') {
                doc.append('\\');
            }
            doc.append(c);
        }
        return doc.append('"').toString();
    }

    /** The field a column doc of {@link #doc} names; empty for any other doc (or none). */
    public static Optional<String> field(String doc) {
        if (doc == null || !doc.startsWith(DOC_PREFIX) || doc.length() < DOC_PREFIX.length() + 1 || !doc.endsWith("\"")) {
            return Optional.empty();
        }
        StringBuilder field = new StringBuilder(doc.length() - DOC_PREFIX.length() - 1);
        int end = doc.length() - 1;
        for (int i = DOC_PREFIX.length(); i < end; i++) {
            char c = doc.charAt(i);
            if (c == '\\') {
                if (i + 1 >= end) {
                    return Optional.empty();
                }
                c = doc.charAt(++i);
                if (c != '"' && c != '\\') {
                    return Optional.empty();
                }
            } else if (c == '"') {
                return Optional.empty();
            }
            field.append(c);
        }
        return field.length() == 0 ? Optional.empty() : Optional.of(field.toString());
    }

    /** The field a column holds: the one its doc names, else the field of the column's own name. */
    public static String field(String column, String doc) {
        return field(doc).orElse(column);
    }

    /** How two names that SQL takes for one compare: {@code name} in lower case. */
    public static String folded(String name) {
        return name.toLowerCase(Locale.ROOT);
    }

    /**
     * Names columns for fields the table has no column for yet.
     *
     * @param fields distinct field names, none empty, in the order their columns are to be added
     * @param taken the names the table's columns have, {@link #folded}
     * @return field to column name, in the order of {@code fields}; a field keeps its own name where it can, and those
     *         that do are served first, so that {@code http_status} keeps its name even when {@code http.status} comes
     *         before it
     */
    public static Map<String, String> name(Collection<String> fields, Set<String> taken) {
        Set<String> used = new HashSet<>(taken);
        Map<String, String> own = new LinkedHashMap<>();
        List<String> renamed = new ArrayList<>();
        for (String field : fields) {
            if (field.indexOf('.') < 0 && used.add(folded(field))) {
                own.put(field, field);
            } else {
                renamed.add(field);
            }
        }
        for (String field : renamed) {
            String safe = field.replace('.', '_');
            String column = safe;
            for (int n = 2; !used.add(folded(column)); n++) {
                column = safe + "_" + n;
            }
            own.put(field, column);
        }
        Map<String, String> columns = new LinkedHashMap<>();
        for (String field : fields) {
            columns.put(field, own.get(field));
        }
        return columns;
    }
}
