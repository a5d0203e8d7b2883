package io.watershed.spi;

import java.util.List;

/**
 * The fresh tail of the raw lake tables, the speed half of the serving layer: the events durable in
 * the bus past the offsets a table's snapshot covers. A query of {@code raw.<stream>} reads the
 * snapshot's files and these rows together, so an acknowledged event is queryable before the lake
 * writer commits it, and the boundary between the two is exact: the tail begins at the snapshot's
 * offsets and holds each later record once.
 */
public interface LakeTail {
    /**
     * Reads the bus up to what it holds now (committed records only) and answers, for each requested
     * view of a table landed from a stream, the rows past the view's offsets that the lake writer would
     * land (records it would dead-letter are left out). The tail is always a contiguous run of offsets
     * from the view's: when reading takes too long or the bus cannot be reached, it is shorter, never
     * wrong. Tables without a tail are left out of the answer.
     *
     * <p>Rows come as a change to what the caller holds. When the answer's generation equals the one
     * requested, its rows follow the {@code held} rows the caller has; otherwise they replace them all
     * (the base moved with a commit, or the columns changed).
     */
    List<Tail> read(List<Request> requests);

    /**
     * @param generation the generation of the rows the caller holds for this table (0: none)
     * @param held how many rows of that generation it holds
     */
    record Request(LakeTableView view, long generation, int held) {}

    /**
     * @param columns the columns of {@code rows}, in order: the table's, then fields the tail has seen
     *     and the table not yet (a column may also be wider than the table's, as it will be after the commit)
     */
    record Tail(String qualifiedName, long generation, List<LakeTableView.Column> columns, List<Object[]> rows) {}
}
