package io.watershed.search;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watershed.spi.BusRecord;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.SearchSpec;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.core.KeywordAnalyzer;
import org.apache.lucene.analysis.miscellaneous.PerFieldAnalyzerWrapper;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedSetDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.PointValues;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.SortedSetDocValues;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.queryparser.classic.MultiFieldQueryParser;
import org.apache.lucene.queryparser.classic.ParseException;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.queryparser.classic.TokenMgrError;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.SimpleCollector;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TopFieldDocs;
import org.apache.lucene.search.highlight.Highlighter;
import org.apache.lucene.search.highlight.InvalidTokenOffsetsException;
import org.apache.lucene.search.highlight.QueryScorer;
import org.apache.lucene.search.highlight.SimpleHTMLFormatter;
import org.apache.lucene.search.highlight.SimpleSpanFragmenter;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.BytesRef;

/**
 * One stream's search index in its own directory: one Lucene index, or with a retention one per day of events
 * ({@link IndexSlices}). A document is one event: its JSON as stored, its place on the bus
 * ({@code _partition}, {@code _offset}; the term {@code _id} = {@code partition:offset}, so indexing a record again
 * replaces it), its time ({@code _time}: the stream's {@code event_time} field when it has one and the event carries a
 * readable value, else when the bus took it), the search's text fields analysed into words and its keyword fields whole.
 * Every commit records, in its user data, the next offset of each partition it covers: the index and its position on
 * the bus are committed together, so a restart after any crash resumes exactly there.
 *
 * <p>Thread-safe: one indexer adds and commits, any number of threads search, upkeep deletes expired events.
 */
public final class StreamIndex implements AutoCloseable {
    // ID, TIME and SOURCE are SearchSpec.INDEX_FIELDS: the project refuses them as searched fields
    static final String ID = "_id";
    static final String PARTITION = "_partition";
    static final String OFFSET = "_offset";
    static final String TIME = "_time";
    static final String SOURCE = "_source";
    /** The commit user data key of the offsets: {@code partition=next,...}. */
    static final String OFFSETS_KEY = "watershed.offsets";
    /** Longer keyword values are cut here (a Lucene term holds at most 32766 bytes). */
    static final int MAX_KEYWORD = 1024;
    /** A field name no event has: a term without a field goes there when the caller may read no text field. */
    private static final String NO_FIELD = "\u0000none";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LEXICAL_POSITION = Pattern.compile("line (\\d+), column (\\d+)");

    private final StreamSpec stream;
    private final SearchSpec spec;
    private final Analyzer analyzer;
    private final IndexSlices slices;

    /** Opens the index in {@code path}, creating it when there is none. */
    public StreamIndex(Path path, StreamSpec stream) {
        this.stream = stream;
        this.spec = stream.search().orElseThrow(() -> new IllegalArgumentException("stream '" + stream.name() + "' has no search"));
        Map<String, Analyzer> perField = new HashMap<>();
        spec.keywords().forEach(k -> perField.put(k, new KeywordAnalyzer()));
        this.analyzer = new PerFieldAnalyzerWrapper(new StandardAnalyzer(), perField);
        this.slices = new IndexSlices(path, stream.name(), analyzer, spec.retention().isPresent());
    }

    public StreamSpec stream() {
        return stream;
    }

    /** Per partition, the next offset the last commit covers (the offset to resume at); empty for a new index. */
    public Map<Integer, Long> committedOffsets() {
        return slices.committed();
    }

    /** Indexes one event record; a record of the same partition and offset indexed before is replaced. */
    public void add(BusRecord record, ObjectNode event) {
        Document doc = new Document();
        String id = record.partition() + ":" + record.offset();
        doc.add(new StringField(ID, id, Field.Store.NO));
        doc.add(new StoredField(PARTITION, record.partition()));
        doc.add(new NumericDocValuesField(PARTITION, record.partition()));
        long time = time(event, record.timestamp());
        IndexWriter writer = slices.writer(time);
        if (writer == null) {
            return; // past retention
        }
        doc.add(new StoredField(OFFSET, record.offset()));
        doc.add(new NumericDocValuesField(OFFSET, record.offset()));
        doc.add(new LongPoint(TIME, time));
        doc.add(new NumericDocValuesField(TIME, time));
        doc.add(new StoredField(TIME, time));
        doc.add(new StoredField(SOURCE, new String(record.value(), StandardCharsets.UTF_8)));
        for (String field : spec.text()) {
            for (String value : values(event, field)) {
                doc.add(new TextField(field, value, Field.Store.NO));
            }
        }
        for (String field : spec.keywords()) {
            for (String value : new LinkedHashSet<>(values(event, field))) {
                String kept = value.length() > MAX_KEYWORD ? value.substring(0, MAX_KEYWORD) : value;
                doc.add(new StringField(field, kept, Field.Store.NO));
                doc.add(new SortedSetDocValuesField(field, new BytesRef(kept)));
            }
        }
        try {
            writer.updateDocument(new Term(ID, id), doc);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot index event " + id + " of stream '" + stream.name() + "'", e);
        }
    }

    /** Commits what was added, recording {@code next} (per partition, the offset after the last record read). */
    public void commit(Map<Integer, Long> next) {
        try {
            slices.commit(next);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot commit the search index of stream '" + stream.name() + "'", e);
        }
    }

    /** Makes what was added since the last refresh searchable (it is committed only by {@link #commit}). */
    public void refresh() {
        try {
            slices.refresh();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot refresh the search index of stream '" + stream.name() + "'", e);
        }
    }

    /** Forgets everything added since the last commit (after a failure): the index is as that commit left it. */
    public void rollback() {
        slices.rollback();
    }

    /**
     * Deletes the events older than {@code cutoffMillis} and indexes none older any more; the next commit makes it
     * durable and drops the days wholly older (with a retention, the index keeps a Lucene index per day of events).
     */
    public void expire(long cutoffMillis) {
        try {
            slices.expire(cutoffMillis);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot expire events of the search index of stream '" + stream.name() + "'", e);
        }
    }

    /** Whether something was added or deleted since the last commit. */
    public boolean changed() {
        return slices.changed();
    }

    /** Events in the index (searchable or about to be). */
    public long documents() {
        try {
            return slices.documents();
        } catch (org.apache.lucene.store.AlreadyClosedException reopening) {
            return -1; // after a failure, between the rollback and the reopen
        }
    }

    /** The bytes of the index's files. */
    public long bytes() {
        return slices.bytes();
    }

    /** The Lucene indexes the index is made of: one per day of events with a retention, else one. */
    public int slices() {
        return slices.count();
    }

    /** Answers a search. */
    public SearchResult search(SearchRequest request) {
        Query user = parse(request);
        BooleanQuery.Builder filtered = new BooleanQuery.Builder().add(user, BooleanClause.Occur.MUST);
        if (request.from().isPresent() || request.to().isPresent()) {
            filtered.add(LongPoint.newRangeQuery(TIME, request.from().orElse(Long.MIN_VALUE), request.to().map(t -> t - 1)
                    .orElse(Long.MAX_VALUE)), BooleanClause.Occur.FILTER);
        }
        Query query = filtered.build();
        for (String field : request.top()) {
            if (!request.visible().test(field)) {
                throw new WatershedException(ErrorCode.FORBIDDEN, "Cannot count the top values of field '" + field + "' of stream '"
                        + stream.name() + "': you may not read that field");
            }
            if (!spec.keywords().contains(field)) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot count the top values of field '" + field
                        + "' of stream '" + stream.name() + "': only keyword fields have top values; its keywords are "
                        + spec.keywords());
            }
        }
        try (IndexSlices.Searcher slice = slices.searcher(request.from().orElse(Long.MIN_VALUE), request.to().orElse(Long.MAX_VALUE))) {
            IndexSearcher searcher = slice.get();
            long[] bounds = bounds(searcher, request);
            long interval = bounds == null ? 0 : interval(bounds[1] - bounds[0]);
            List<SearchResult.Hit> hits = request.limit() <= 0 ? List.of() : hits(searcher, query, user, request);
            if (user instanceof MatchAllDocsQuery && request.top().isEmpty()) {
                // every event in the range: each bucket is a count of a time range, which Lucene answers from the points'
                // tree without visiting the events (as OpenSearch answers a date histogram over all events)
                List<SearchResult.Bucket> histogram = new ArrayList<>();
                long total = searcher.count(query);
                if (bounds != null && interval > 0) {
                    for (long start = Math.floorDiv(bounds[0], interval) * interval; start < bounds[1]; start += interval) {
                        long from = Math.max(start, bounds[0]);
                        long to = Math.min(start + interval, bounds[1]);
                        histogram.add(new SearchResult.Bucket(start, searcher.count(LongPoint.newRangeQuery(TIME, from, to - 1))));
                    }
                }
                return new SearchResult(total, hits, interval, histogram, Map.of());
            }
            Tally tally = new Tally(request.top(), bounds, interval);
            searcher.search(query, tally);
            return new SearchResult(tally.total, hits, interval, tally.histogram(), tally.top());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot search stream '" + stream.name() + "'", e);
        }
    }

    /** The time range the histogram spans: the request's, completed by the index's oldest and newest event. */
    private static long[] bounds(IndexSearcher searcher, SearchRequest request) throws IOException {
        byte[] min = PointValues.getMinPackedValue(searcher.getIndexReader(), TIME);
        byte[] max = PointValues.getMaxPackedValue(searcher.getIndexReader(), TIME);
        if (min == null && (request.from().isEmpty() || request.to().isEmpty())) {
            return null;
        }
        long from = request.from().orElseGet(() -> LongPoint.decodeDimension(min, 0));
        long to = request.to().orElseGet(() -> LongPoint.decodeDimension(max, 0) + 1);
        return to <= from ? null : new long[] {from, to};
    }

    /** A round bucket width giving about 60 buckets over {@code span} milliseconds. */
    static long interval(long span) {
        long[] steps = {1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000,
            43_200_000, 86_400_000, 604_800_000};
        for (long step : steps) {
            if (span / step <= 60) {
                return step;
            }
        }
        return steps[steps.length - 1] * ((span / steps[steps.length - 1]) / 60 + 1);
    }

    /** Counts the matches, their time buckets and the values of the top fields, in one pass. */
    private static final class Tally extends SimpleCollector {
        private final List<String> fields;
        private final long interval;
        /** The start of the first bucket; bucket i counts the matches in [first + i * interval, first + (i + 1) * interval). */
        private final long first;
        private final long[] buckets;
        private final List<Map<String, Long>> values = new ArrayList<>();
        private NumericDocValues times;
        private SortedSetDocValues[] sets;
        private long[][] ordCounts;
        long total;

        Tally(List<String> fields, long[] bounds, long interval) {
            this.fields = fields;
            this.interval = bounds == null ? 0 : interval;
            this.first = this.interval > 0 ? Math.floorDiv(bounds[0], interval) * interval : 0;
            this.buckets = new long[this.interval > 0 ? (int) ((bounds[1] - first + interval - 1) / interval) : 0];
            fields.forEach(f -> values.add(new HashMap<>()));
        }

        @Override
        protected void doSetNextReader(LeafReaderContext context) throws IOException {
            flush();
            times = DocValues.getNumeric(context.reader(), TIME);
            sets = new SortedSetDocValues[fields.size()];
            ordCounts = new long[fields.size()][];
            for (int i = 0; i < fields.size(); i++) {
                sets[i] = DocValues.getSortedSet(context.reader(), fields.get(i));
                ordCounts[i] = new long[(int) Math.min(Integer.MAX_VALUE - 8, sets[i].getValueCount())];
            }
        }

        @Override
        public void collect(int doc) throws IOException {
            total++;
            if (interval > 0 && times.advanceExact(doc)) {
                long bucket = Math.floorDiv(times.longValue() - first, interval);
                if (bucket >= 0 && bucket < buckets.length) { // the query's time filter keeps every match within the bounds
                    buckets[(int) bucket]++;
                }
            }
            for (int i = 0; i < sets.length; i++) {
                if (sets[i].advanceExact(doc)) {
                    for (int k = 0; k < sets[i].docValueCount(); k++) {
                        ordCounts[i][(int) sets[i].nextOrd()]++;
                    }
                }
            }
        }

        private void flush() throws IOException {
            if (sets == null) {
                return;
            }
            for (int i = 0; i < sets.length; i++) {
                for (int ord = 0; ord < ordCounts[i].length; ord++) {
                    if (ordCounts[i][ord] > 0) {
                        values.get(i).merge(sets[i].lookupOrd(ord).utf8ToString(), ordCounts[i][ord], Long::sum);
                    }
                }
            }
            sets = null;
        }

        @Override
        public ScoreMode scoreMode() {
            return ScoreMode.COMPLETE_NO_SCORES;
        }

        List<SearchResult.Bucket> histogram() {
            List<SearchResult.Bucket> out = new ArrayList<>(buckets.length);
            for (int i = 0; i < buckets.length; i++) {
                out.add(new SearchResult.Bucket(first + i * interval, buckets[i]));
            }
            return out;
        }

        Map<String, List<SearchResult.TopValue>> top() throws IOException {
            flush();
            Map<String, List<SearchResult.TopValue>> out = new LinkedHashMap<>();
            for (int i = 0; i < fields.size(); i++) {
                out.put(fields.get(i), values.get(i).entrySet().stream()
                        .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                        .limit(SearchRequest.TOP_VALUES).map(e -> new SearchResult.TopValue(e.getKey(), e.getValue())).toList());
            }
            return out;
        }
    }

    private List<SearchResult.Hit> hits(IndexSearcher searcher, Query query, Query user, SearchRequest request) throws IOException {
        Sort newestFirst = new Sort(new SortField(TIME, SortField.Type.LONG, true), new SortField(OFFSET, SortField.Type.LONG, true),
                new SortField(PARTITION, SortField.Type.LONG, true));
        TopFieldDocs top = searcher.search(query, Math.min(request.limit(), SearchRequest.MAX_LIMIT), newestFirst);
        StoredFields stored = searcher.storedFields();
        List<String> highlighted = spec.text().stream().filter(request.visible()).toList();
        List<SearchResult.Hit> hits = new ArrayList<>();
        for (ScoreDoc scoreDoc : top.scoreDocs) {
            Document doc = stored.document(scoreDoc.doc);
            Map<String, Object> source = source(doc.get(SOURCE), request);
            Map<String, List<String>> highlights = new LinkedHashMap<>();
            for (String field : highlighted) {
                List<String> fragments = highlight(user, field, source.get(field));
                if (!fragments.isEmpty()) {
                    highlights.put(field, fragments);
                }
            }
            hits.add(new SearchResult.Hit(doc.getField(PARTITION).numericValue().intValue(),
                    doc.getField(OFFSET).numericValue().longValue(), doc.getField(TIME).numericValue().longValue(), source, highlights));
        }
        return hits;
    }

    private static Map<String, Object> source(String json, SearchRequest request) {
        try {
            JsonNode node = JSON.readTree(json);
            Map<String, Object> source = new LinkedHashMap<>();
            node.fields().forEachRemaining(e -> {
                if (request.visible().test(e.getKey())) {
                    source.put(e.getKey(), JSON.convertValue(e.getValue(), Object.class));
                }
            });
            return source;
        } catch (JsonProcessingException e) {
            return Map.of(); // indexed from a JSON object: cannot happen
        }
    }

    private List<String> highlight(Query query, String field, Object value) {
        if (!(value instanceof String text)) {
            return List.of();
        }
        QueryScorer scorer = new QueryScorer(query, field);
        Highlighter highlighter = new Highlighter(new SimpleHTMLFormatter("<em>", "</em>"), StreamIndex::escape, scorer);
        highlighter.setTextFragmenter(new SimpleSpanFragmenter(scorer, 200));
        try {
            return List.of(highlighter.getBestFragments(analyzer, field, text, 3));
        } catch (IOException | InvalidTokenOffsetsException e) {
            return List.of();
        }
    }

    /** HTML's five special characters escaped, so that a fragment shows as text around its {@code <em>} marks. */
    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * Parses the query: Lucene's classic syntax, a term without a field searching the text fields the caller may read.
     * A query naming a field the index does not search is refused, one naming a field the caller may not read too.
     */
    Query parse(SearchRequest request) {
        String text = request.query().strip();
        if (text.isEmpty() || text.equals("*") || text.equals("*:*")) {
            return new MatchAllDocsQuery();
        }
        List<String> defaults = spec.text().stream().filter(request.visible()).toList();
        QueryParser parser = defaults.isEmpty() ? new QueryParser(NO_FIELD, analyzer)
                : new MultiFieldQueryParser(defaults.toArray(String[]::new), analyzer);
        parser.setAllowLeadingWildcard(true);
        Query query;
        try {
            query = parser.parse(text);
        } catch (ParseException e) {
            throw invalid(text, e);
        } catch (RuntimeException e) { // too many clauses, say
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot search stream '" + stream.name() + "': " + e.getMessage());
        }
        Set<String> named = new LinkedHashSet<>();
        query.visit(new QueryVisitor() {
            @Override
            public boolean acceptField(String field) {
                named.add(field);
                return true;
            }

            @Override
            public QueryVisitor getSubVisitor(BooleanClause.Occur occur, Query parent) {
                return this;
            }
        });
        Set<String> searchable = new LinkedHashSet<>(spec.fields());
        for (String field : named) {
            if (field.equals(NO_FIELD)) {
                throw new WatershedException(ErrorCode.FORBIDDEN, "Cannot search stream '" + stream.name() + "' for words without a "
                        + "field: they search its text fields " + spec.text() + ", and you may read none of them; name a keyword field "
                        + "(field:value)");
            }
            if (!searchable.contains(field)) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot search stream '" + stream.name() + "' by field '"
                        + field + "': it is not indexed; search.text is " + spec.text() + " and search.keywords is " + spec.keywords());
            }
            if (!request.visible().test(field)) {
                throw new WatershedException(ErrorCode.FORBIDDEN, "Cannot search stream '" + stream.name() + "' by field '" + field
                        + "': you may not read that field");
            }
        }
        return query;
    }

    /** A parse error as 400 with its place in the query (line and column from 1) and the parser's reason. */
    private WatershedException invalid(String text, ParseException e) {
        int line = 1;
        int column = 1;
        String reason = e.getMessage();
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        // the classic parser's character stream counts no lines: its "column" is the character's index in the whole query
        if (cause instanceof ParseException p && p.currentToken != null) {
            org.apache.lucene.queryparser.classic.Token at = p.currentToken.next != null ? p.currentToken.next : p.currentToken;
            int[] place = place(text, at.kind == 0 ? text.length() : at.beginColumn);
            line = place[0];
            column = place[1];
            reason = at.kind == 0 ? "the query ends too early" : "unexpected '" + at.image + "'";
            if (p.expectedTokenSequences != null && p.expectedTokenSequences.length > 0) {
                reason += expected(p);
            }
        } else {
            Matcher m = LEXICAL_POSITION.matcher(String.valueOf(cause.getMessage()));
            if (m.find()) {
                int[] place = place(text, Math.max(0, Integer.parseInt(m.group(2)) - 1));
                line = place[0];
                column = place[1];
            }
            reason = cause instanceof TokenMgrError ? String.valueOf(cause.getMessage()).replaceFirst("^Lexical error at line \\d+, column \\d+\\.\\s*", "")
                    : String.valueOf(cause.getMessage()).replaceFirst("^Cannot parse '.*?': ", "");
            reason = reason.replaceFirst(" \\(in lexical state \\d+\\)", "").replace("Encountered: <EOF> after prefix", "the query ends inside")
                    .replace("Encountered: <EOF>", "the query ends inside a quoted phrase or range");
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("line", line);
        details.put("column", column);
        details.put("reason", reason);
        return new WatershedException(ErrorCode.INVALID_INPUT, "Cannot search stream '" + stream.name() + "': the query is not valid "
                + "at line " + line + ", column " + column + ": " + reason, details, null, e);
    }

    /** Line and column (from 1) of the character at {@code index} of {@code text}. */
    static int[] place(String text, int index) {
        int line = 1;
        int column = 1;
        for (int i = 0; i < Math.min(index, text.length()); i++) {
            if (text.charAt(i) == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return new int[] {line, column};
    }

    private static String expected(ParseException p) {
        Set<String> names = new java.util.TreeSet<>();
        for (int[] sequence : p.expectedTokenSequences) {
            if (sequence.length > 0) {
                names.add(p.tokenImage[sequence[0]]);
            }
        }
        return names.size() > 8 ? "" : "; expected one of " + String.join(", ", names);
    }

    /** The values of a field in an event: a top-level name, else a dotted path into objects; an array gives each element. */
    static List<String> values(ObjectNode event, String field) {
        JsonNode node = event.get(field);
        if (node == null && field.indexOf('.') > 0) {
            node = event.at("/" + field.replace("~", "~0").replace("/", "~1").replace('.', '/'));
        }
        List<String> out = new ArrayList<>();
        collect(node, out);
        return out;
    }

    private static void collect(JsonNode node, List<String> out) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return;
        }
        if (node.isArray()) {
            node.forEach(n -> collect(n, out));
        } else if (node.isObject()) {
            out.add(node.toString());
        } else {
            out.add(node.asText());
        }
    }

    /** The event's time: its {@code event_time} field read as epoch milliseconds or an ISO-8601 time, else {@code ingested}. */
    long time(ObjectNode event, long ingested) {
        if (stream.eventTime().isEmpty()) {
            return ingested;
        }
        JsonNode node = event.get(stream.eventTime().get());
        if (node == null) {
            return ingested;
        }
        if (node.isIntegralNumber()) {
            return node.asLong();
        }
        if (node.isTextual()) {
            String text = node.asText().strip();
            try {
                return OffsetDateTime.parse(text).toInstant().toEpochMilli();
            } catch (java.time.format.DateTimeParseException notOffset) {
                try {
                    return LocalDateTime.parse(text).toInstant(ZoneOffset.UTC).toEpochMilli();
                } catch (java.time.format.DateTimeParseException notLocal) {
                    try {
                        return Long.parseLong(text);
                    } catch (NumberFormatException notNumber) {
                        return ingested;
                    }
                }
            }
        }
        return ingested;
    }

    static String encode(Map<Integer, Long> offsets) {
        StringBuilder out = new StringBuilder();
        offsets.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            if (out.length() > 0) {
                out.append(',');
            }
            out.append(e.getKey()).append('=').append(e.getValue());
        });
        return out.toString();
    }

    static Map<Integer, Long> decode(String text) {
        Map<Integer, Long> offsets = new TreeMap<>();
        if (text == null || text.isBlank()) {
            return offsets;
        }
        for (String pair : text.split(",")) {
            String[] kv = pair.split("=");
            offsets.put(Integer.parseInt(kv[0]), Long.parseLong(kv[1]));
        }
        return offsets;
    }

    /** Closes without committing: the owner commits with its offsets first. */
    @Override
    public void close() {
        slices.close(); // nothing uncommitted may outlive a close: it has no offsets
    }
}
