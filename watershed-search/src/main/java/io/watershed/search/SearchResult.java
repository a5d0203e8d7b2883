package io.watershed.search;

import java.util.List;
import java.util.Map;

/**
 * What a search found.
 *
 * @param total how many events match (all of them, not only the hits returned)
 * @param hits the newest matches, at most the request's limit
 * @param intervalMillis the width of each histogram bucket
 * @param histogram matches per time bucket, oldest first, empty buckets included
 * @param top per requested keyword field, its most frequent values among the matches
 */
public record SearchResult(long total, List<Hit> hits, long intervalMillis, List<Bucket> histogram,
        Map<String, List<TopValue>> top) {

    /**
     * One matching event; its row in the lake is {@code raw.<stream>} where {@code _partition} and {@code _offset} are these.
     *
     * @param source the event as sent, without the fields the caller may not read
     * @param highlights per text field the query matched in, fragments with the matched words in {@code <em>}
     */
    public record Hit(int partition, long offset, long time, Map<String, Object> source, Map<String, List<String>> highlights) {}

    public record Bucket(long start, long count) {}

    public record TopValue(String value, long count) {}
}
