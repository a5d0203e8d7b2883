package io.watershed.project;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.parser.CronParser;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Schedules as users write them: five-field cron expressions (UTC) and the usual {@code @daily}-style nicknames. */
public final class Schedules {
    private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
    public static final Map<String, String> NICKNAMES = Map.of("@hourly", "0 * * * *", "@daily", "0 0 * * *", "@midnight",
            "0 0 * * *", "@weekly", "0 0 * * 0", "@monthly", "0 0 1 * *", "@yearly", "0 0 1 1 *", "@annually", "0 0 1 1 *");

    private Schedules() {}

    /** The expression as five-field cron, nicknames expanded. */
    public static String cron(String expression) {
        String trimmed = expression.trim();
        return NICKNAMES.getOrDefault(trimmed.toLowerCase(Locale.ROOT), trimmed);
    }

    /** Why the expression is not a schedule, if it is not one. */
    public static Optional<String> problem(String expression) {
        String cron = cron(expression);
        if (cron.startsWith("@")) {
            return Optional.of("unknown schedule '" + expression.trim() + "'; use one of " + new java.util.TreeSet<>(NICKNAMES.keySet())
                    + " or a cron expression like '0 2 * * *' (minute hour day-of-month month day-of-week, UTC)");
        }
        try {
            PARSER.parse(cron).validate();
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.of("'" + expression.trim() + "' is not a cron expression (minute hour day-of-month month day-of-week, "
                    + "UTC; or " + new java.util.TreeSet<>(NICKNAMES.keySet()) + "): " + e.getMessage());
        }
    }
}
