package io.watershed.access;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.util.Locale;
import java.util.Set;

/**
 * What a grant allows, and on which kind of object: {@code read} tables ({@code table:raw.clicks}, optionally some
 * columns), {@code write} streams ({@code stream:clicks}) and, through the Iceberg REST catalog, tables other than
 * Watershed's own ({@code table:ext.*}), {@code run} models, {@code change} pipelines, models, saved queries and ml
 * models ({@code ml:churn}: train, promote),
 * {@code admin} everything ({@code *}).
 */
public enum Privilege {
    READ(Set.of("table")),
    WRITE(Set.of("stream", "table")),
    RUN(Set.of("model")),
    CHANGE(Set.of("pipeline", "model", "query", "ml")),
    ADMIN(Set.of("*"));

    private final Set<String> kinds;

    Privilege(Set<String> kinds) {
        this.kinds = kinds;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Privilege parse(String text) {
        for (Privilege p : values()) {
            if (p.label().equalsIgnoreCase(text == null ? "" : text.strip())) {
                return p;
            }
        }
        throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot use privilege '" + text
                + "': use read (tables), write (streams), run (models), change (pipelines, models, saved queries, ml models) or admin");
    }

    /** Checks that the object ({@code kind:pattern}, or {@code *} for admin) fits this privilege. */
    void checkObject(String object) {
        String kind = object.equals("*") ? "*" : object.contains(":") ? object.substring(0, object.indexOf(':')) : "";
        if (!kinds.contains(kind)) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot grant " + label() + " on '" + object + "': "
                    + label() + " applies to " + String.join(" or ", kinds.stream().map(k -> k.equals("*") ? "*" : k + ":<name>")
                            .sorted().toList()) + " (a name may end in * to match many)");
        }
    }
}
