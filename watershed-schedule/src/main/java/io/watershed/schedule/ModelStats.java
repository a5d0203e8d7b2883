package io.watershed.schedule;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** Per model, since the platform started: builds by outcome, the last successful build. Read for metrics. */
public final class ModelStats {
    public final AtomicLong succeeded = new AtomicLong();
    public final AtomicLong failed = new AtomicLong();
    public final AtomicLong rows = new AtomicLong();
    /** Epoch seconds of the end of the last successful build, 0 before one. */
    public volatile double lastSuccess;
    public volatile double lastDurationSeconds;
    /** Builds of the model under way; workers of different runs change it at once. */
    public final AtomicInteger running = new AtomicInteger();
}
