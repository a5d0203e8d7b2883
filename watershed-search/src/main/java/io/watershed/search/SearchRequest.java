package io.watershed.search;

import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * One search of a stream's index.
 *
 * @param query Lucene's classic query syntax; a term without a field searches the text fields; blank or {@code *} finds all
 * @param from events at or after this time (epoch milliseconds), when present
 * @param to events before this time (epoch milliseconds), when present
 * @param limit hits to return, newest first (0 for counts only)
 * @param top keyword fields whose most frequent values among the hits to count
 * @param visible the event fields the caller may read: others are left out of sources, highlights and the default
 *        fields, and a query or {@code top} that names one is refused
 */
public record SearchRequest(String query, Optional<Long> from, Optional<Long> to, int limit, List<String> top,
        Predicate<String> visible) {
    /** Values per {@code top} field. */
    public static final int TOP_VALUES = 10;
    public static final int MAX_LIMIT = 1000;

    public SearchRequest {
        query = query == null ? "" : query;
        top = List.copyOf(top);
        visible = visible == null ? f -> true : visible;
    }

    /** Everything, by everyone. */
    public static SearchRequest of(String query) {
        return new SearchRequest(query, Optional.empty(), Optional.empty(), 50, List.of(), f -> true);
    }
}
