package io.watershed.spi;

import java.time.Duration;
import java.time.LocalDateTime;

/** Builds batch models: runs a model's SQL once and replaces its table's contents in one lake commit. */
public interface ModelBuilder {

    /**
     * Builds the model for the time range {@code [start, end)} ({@code {{ start }}} and {@code {{ end }}} in its
     * SQL): a full refresh replaces the whole table, an incremental model the rows of that range of its
     * partition column. Either the one commit lands or the table is left as it was. Blocks until done.
     *
     * @param build names the build (the run and step), recorded in the commit's summary
     * @throws WatershedException INVALID_CONFIG for a mistake in the model (file:line:col); QUERY_TIMEOUT when it
     *     ran longer than {@code timeout} and was cancelled; UNAVAILABLE while the engine starts or stops;
     *     INTERNAL when the job failed otherwise
     */
    BuildResult build(ModelSpec model, LocalDateTime start, LocalDateTime end, String build, Duration timeout);

    /**
     * @param rows rows written by this build
     * @param snapshotId the table's snapshot after the commit
     */
    record BuildResult(long rows, int files, long snapshotId, long millis) {}
}
