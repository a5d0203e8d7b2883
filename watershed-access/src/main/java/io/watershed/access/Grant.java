package io.watershed.access;

import java.util.List;
import java.util.regex.Pattern;

/**
 * One grant of a role: a privilege on the objects an {@code object} pattern names ({@code table:raw.*},
 * {@code stream:clicks}, {@code *}), and for {@code read} optionally only some columns (empty: all).
 */
public record Grant(String role, Privilege privilege, String object, List<String> columns) {
    public Grant {
        columns = List.copyOf(columns);
    }

    /** Whether this grant covers {@code object} ({@code kind:name}); {@code *} in the pattern matches any run of characters. */
    public boolean covers(Privilege wanted, String target) {
        if (privilege == Privilege.ADMIN) {
            return true;
        }
        return privilege == wanted && matches(object, target);
    }

    static boolean matches(String pattern, String target) {
        if (pattern.equals("*")) {
            return true;
        }
        String regex = java.util.Arrays.stream(pattern.split("\\*", -1)).map(Pattern::quote)
                .collect(java.util.stream.Collectors.joining(".*"));
        return Pattern.matches(regex, target);
    }
}
