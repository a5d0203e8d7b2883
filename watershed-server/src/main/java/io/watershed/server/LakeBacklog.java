package io.watershed.server;

import io.watershed.lake.RawLakeWriter;

/**
 * Records of a stream in the bus but not in its raw table: the topic's end (sampled every 2 s by {@link StreamRates})
 * less the table's committed offsets, current even when the lake writer is stuck. Before the first sample, the writer's
 * own lag (as of its last commit), or 0 without a writer. Ingest waits on it ({@code ingest.max_lake_lag}); the API
 * and the console's alerts show it.
 */
final class LakeBacklog {
    private final StreamRates rates;
    private final RawLakeWriter lakeWriter;

    LakeBacklog(StreamRates rates, RawLakeWriter lakeWriter) {
        this.rates = rates;
        this.lakeWriter = lakeWriter;
    }

    long of(String stream) {
        long end = rates.endTotal(stream);
        long committed = lakeWriter.committedTotal(stream);
        return end >= 0 && committed >= 0 ? Math.max(0, end - committed) : lakeWriter.lag().getOrDefault(stream, 0L);
    }
}
