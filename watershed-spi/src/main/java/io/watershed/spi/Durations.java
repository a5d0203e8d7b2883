package io.watershed.spi;

import java.time.Duration;

/** Durations shown to people. */
public final class Durations {
    private Durations() {}

    /** A duration as people write it: exact days or hours as such (a max_age of 1d stays 1d), else roughly. */
    public static String human(Duration d) {
        long seconds = d.toSeconds();
        if (seconds > 0 && seconds % 86_400 == 0) {
            return seconds / 86_400 + "d";
        }
        if (seconds > 0 && seconds % 3_600 == 0) {
            return seconds / 3_600 + "h";
        }
        if (d.toDays() >= 2) {
            return d.toDays() + "d";
        }
        if (d.toHours() >= 2) {
            return d.toHours() + "h";
        }
        if (d.toMinutes() >= 2) {
            return d.toMinutes() + "m";
        }
        return d.toSeconds() + "s";
    }
}
