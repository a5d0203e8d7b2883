package io.watershed.spi;

import java.nio.file.Path;
import java.util.List;

/** Read access to the lake's current table snapshots, for the query engine. */
public interface LakeCatalog {
    /** Every table of the lake at its current snapshot. */
    List<LakeTableView> tables();

    /** Reads a table's current snapshot again at once, after a commit from another writer (a model build). */
    default void refresh(String namespace, String table) {}

    /**
     * Holds a table's snapshot for a reader: snapshot expiry keeps it, and the files it references, until the
     * returned handle is closed. A negative {@code snapshotId} holds every snapshot that is current from now on
     * (for a reader, such as a Flink job, that picks its snapshot itself a moment later).
     */
    default Hold hold(String namespace, String table, long snapshotId) {
        return () -> {};
    }

    /** A reader's hold on a snapshot; closing it twice is harmless. */
    interface Hold extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * The local directory under which every data file the views name lives: the warehouse, or, for a warehouse on
     * S3, the local cache of its data files.
     */
    Path warehouse();
}
