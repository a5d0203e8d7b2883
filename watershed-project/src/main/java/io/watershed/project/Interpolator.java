package io.watershed.project;

import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Shell-style variable substitution in configuration values: {@code ${VAR}} (must be set),
 * {@code ${VAR:-default}} (default when unset or empty) and {@code ${VAR:?message}} (an error with
 * that message when unset or empty). {@code $$} is a literal dollar sign.
 */
final class Interpolator {
    private static final Pattern REFERENCE = Pattern.compile("\\$\\$|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\\?)([^}]*))?}");

    private final Map<String, String> environment;

    Interpolator(Map<String, String> environment) {
        this.environment = environment;
    }

    /** Returns the substituted text; reports each unresolvable reference to {@code errors}. */
    String apply(String text, Consumer<String> errors) {
        if (text.indexOf('$') < 0) {
            return text;
        }
        Matcher matcher = REFERENCE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String replacement;
            if (matcher.group().equals("$$")) {
                replacement = "$";
            } else {
                String name = matcher.group(1);
                String value = environment.get(name);
                boolean unset = value == null || value.isEmpty();
                String operator = matcher.group(2);
                if (!unset) {
                    replacement = value;
                } else if (":-".equals(operator)) {
                    replacement = matcher.group(3);
                } else if (":?".equals(operator)) {
                    String message = matcher.group(3).isBlank() ? "is required" : matcher.group(3);
                    errors.accept("${" + name + "}: " + message);
                    replacement = "";
                } else {
                    errors.accept("environment variable " + name + " is not set (use ${" + name
                            + ":-default} to give a default)");
                    replacement = "";
                }
            }
            matcher.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        matcher.appendTail(out);
        return out.toString();
    }
}
