package io.watershed.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits on a condition (never a fixed sleep): polls until it holds or the deadline passes, then fails saying what was awaited. */
public final class Await {
    private Await() {}

    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Throwable last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
                last = null;
            } catch (RuntimeException | AssertionError e) {
                last = e;
            }
            pause();
        }
        throw new AssertionError("Timed out after " + timeout.toSeconds() + "s waiting for " + what, last);
    }

    /** Polls {@code value} until {@code condition} holds for it; returns that value. */
    public static <T> T until(String what, Duration timeout, Supplier<T> value, java.util.function.Predicate<T> condition) {
        Object[] holder = new Object[1];
        try {
            until(what, timeout, () -> {
                T v = value.get();
                holder[0] = v;
                return condition.test(v);
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; the last value was " + holder[0], e.getCause());
        }
        @SuppressWarnings("unchecked")
        T result = (T) holder[0];
        return result;
    }

    private static void pause() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
