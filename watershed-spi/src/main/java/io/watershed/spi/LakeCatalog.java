package io.watershed.spi;

import java.nio.file.Path;
import java.util.List;

/** Read access to the lake's current table snapshots, for the query engine. */
public interface LakeCatalog {
    /** Every table of the lake at its current snapshot. */
    List<LakeTableView> tables();

    /** Reads a table's current snapshot again at once, after a commit from another writer (a model build). */
    default void refresh(String namespace, String table) {}

    /** The directory under which every data file of the lake lives. */
    Path warehouse();
}
