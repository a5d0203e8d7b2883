package io.watershed.spi;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A stream's full-text search index ({@code search:} in {@code streams/<name>.yaml}): which event fields are analysed
 * as text, which are kept whole as keywords (exact match, top values), and how long events stay searchable. Every
 * field of an event is stored with it for display, but only the listed ones are searchable; there is no default list.
 *
 * @param text fields analysed into words (Lucene's StandardAnalyzer); the fields a query without a field name searches
 * @param keywords fields indexed whole, for exact terms, wildcards and the top values of a field
 * @param retention how far back the index keeps events (by their time); empty: as long as the index lives
 */
public record SearchSpec(List<String> text, List<String> keywords, Optional<Duration> retention) {
    /** The index's own fields (an event's id, time and source): no listed field may have these names. */
    public static final List<String> INDEX_FIELDS = List.of("_id", "_time", "_source");

    public SearchSpec {
        text = List.copyOf(text);
        keywords = List.copyOf(keywords);
        retention = retention == null ? Optional.empty() : retention;
    }

    /** The fields the index searches: the text fields, then the keyword fields. */
    public List<String> fields() {
        List<String> all = new java.util.ArrayList<>(text);
        all.addAll(keywords);
        return all;
    }
}
