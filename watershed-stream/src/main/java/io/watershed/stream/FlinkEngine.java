package io.watershed.stream;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Flink cluster that pipelines and model builds share, started in the background so that ingest
 * and queries do not wait for it.
 */
public final class FlinkEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FlinkEngine.class);

    private final CompletableFuture<FlinkRuntime> runtime = new CompletableFuture<>();

    /**
     * @param directory checkpoints and temporary files
     * @param slots task slots: two per pipeline, and those of the model builds that may run at once
     */
    public FlinkEngine(Path directory, int slots) {
        Thread starter = new Thread(() -> {
            try {
                runtime.complete(new FlinkRuntime(directory, slots));
            } catch (Throwable e) {
                LOG.error("Cannot start the Flink MiniCluster: {}", e.toString(), e);
                runtime.completeExceptionally(e);
            }
        }, "watershed-flink-start");
        starter.setDaemon(true);
        starter.start();
    }

    /** The running cluster, once it has started; throws when it could not start. */
    FlinkRuntime await() {
        try {
            return runtime.join();
        } catch (CompletionException e) {
            throw new IllegalStateException("the Flink MiniCluster did not start: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** Whether the cluster has started (or failed to). */
    boolean ready() {
        return runtime.isDone();
    }

    @Override
    public void close() {
        FlinkRuntime started;
        try {
            started = runtime.join();
        } catch (CompletionException e) {
            return;
        }
        try {
            started.close();
        } catch (Exception e) {
            LOG.warn("Cannot stop the Flink MiniCluster: {}", e.toString());
        }
    }
}
