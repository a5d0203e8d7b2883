package io.watershed.search;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.watershed.spi.BusRecord;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.EventBus;
import io.watershed.spi.MemoryBus;
import io.watershed.spi.SearchSpec;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import io.watershed.testing.Await;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SearchServiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> LEVELS = List.of("DEBUG", "INFO", "WARN", "ERROR");
    private static final List<String> SERVICES = List.of("api", "db", "web", "auth");
    private static final List<String> WORDS = List.of("connection", "refused", "timeout", "timed", "user", "login", "failed",
            "request", "served", "cache", "miss", "disk", "full", "retry");
    private static final long BASE = 1_767_225_600_000L; // 2026-01-01T00:00:00Z

    @TempDir
    Path dir;

    /** One generated log event, as sent and as the scan sees it. */
    private record Log(int partition, long offset, long ts, String level, String service, String message) {
        Set<String> words() {
            return new HashSet<>(List.of(message.split(" ")));
        }

        boolean phrase(String a, String b) {
            return (" " + message + " ").contains(" " + a + " " + b + " ");
        }
    }

    private static StreamSpec logs(Optional<Duration> retention) {
        return new StreamSpec("logs", 3, Optional.empty(), Optional.of("ts"), StreamSpec.DEFAULT_LATENESS, Optional.empty(), Map.of(),
                StreamSpec.Lifecycle.NONE, List.of(), Optional.of(new SearchSpec(List.of("message"), List.of("level", "service"),
                        retention)));
    }

    private static List<Log> generate(MemoryBus bus, int n, long seed) {
        return generate(bus, n, seed, 7_000L);
    }

    /** {@code n} events about {@code step} ms apart from {@link #BASE}. */
    private static List<Log> generate(MemoryBus bus, int n, long seed, long step) {
        Random random = new Random(seed);
        List<Log> logs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int partition = random.nextInt(3);
            String level = LEVELS.get(random.nextInt(LEVELS.size()));
            String service = SERVICES.get(random.nextInt(SERVICES.size()));
            StringBuilder message = new StringBuilder();
            for (int w = 0, words = 2 + random.nextInt(5); w < words; w++) {
                message.append(w == 0 ? "" : " ").append(WORDS.get(random.nextInt(WORDS.size())));
            }
            long ts = BASE + i * step + random.nextInt(5_000);
            ObjectNode event = JSON.createObjectNode().put("ts", ts).put("level", level).put("service", service)
                    .put("message", message.toString()).put("secret", "s" + i);
            long offset = bus.append("logs", partition, event.toString().getBytes(StandardCharsets.UTF_8));
            logs.add(new Log(partition, offset, ts, level, service, message.toString()));
        }
        return logs;
    }

    private SearchService service(EventBus bus) {
        return new SearchService(dir, bus, Duration.ofMillis(200), new SimpleMeterRegistry(), Clock.systemUTC());
    }

    private static void awaitIndexed(SearchService service, long documents) {
        Await.until("the index of logs to hold " + documents + " events and no lag", Duration.ofSeconds(30),
                () -> service.stats("logs"), s -> s.map(x -> x.documents() == documents && x.lag() == 0).orElse(false));
    }

    private record Case(String query, Optional<Long> from, Optional<Long> to, Predicate<Log> matches) {
        Case(String query, Predicate<Log> matches) {
            this(query, Optional.empty(), Optional.empty(), matches);
        }
    }

    /**
     * Without a retention the index is one Lucene index; with one, an index per day of events: here over five days, a
     * search's time range opening only the days it meets.
     */
    @ParameterizedTest(name = "daily slices: {0}")
    @ValueSource(booleans = {false, true})
    void countsHistogramsAndTopValuesOfThirtyQueriesEqualAScanOfTheSameEvents(boolean daily) {
        MemoryBus bus = new MemoryBus();
        long step = daily ? 150_000L : 7_000L;
        List<Log> logs = generate(bus, 3_000, 42, step);
        long mid = BASE + 3_000 * step / 2;
        List<Case> cases = new ArrayList<>();
        for (String level : LEVELS) {
            cases.add(new Case("level:" + level, l -> l.level().equals(level)));
        }
        for (String service : SERVICES) {
            cases.add(new Case("service:" + service, l -> l.service().equals(service)));
        }
        for (String word : List.of("timeout", "refused", "disk", "retry")) {
            cases.add(new Case(word, l -> l.words().contains(word)));
        }
        cases.add(new Case("Timeout", l -> l.words().contains("timeout")));
        cases.add(new Case("message:cache AND message:miss", l -> l.words().contains("cache") && l.words().contains("miss")));
        cases.add(new Case("\"connection refused\"", l -> l.phrase("connection", "refused")));
        cases.add(new Case("\"disk full\" AND level:ERROR", l -> l.phrase("disk", "full") && l.level().equals("ERROR")));
        cases.add(new Case("tim*", l -> l.words().contains("timeout") || l.words().contains("timed")));
        cases.add(new Case("?ser", l -> l.words().contains("user")));
        cases.add(new Case("service:a*", l -> l.service().startsWith("a")));
        cases.add(new Case("level:[ERROR TO WARN]", l -> l.level().compareTo("ERROR") >= 0 && l.level().compareTo("WARN") <= 0));
        cases.add(new Case("level:{DEBUG TO INFO}", l -> l.level().compareTo("DEBUG") > 0 && l.level().compareTo("INFO") < 0));
        cases.add(new Case("*:* NOT level:INFO", l -> !l.level().equals("INFO")));
        cases.add(new Case("(level:ERROR OR level:WARN) AND service:db -timeout",
                l -> (l.level().equals("ERROR") || l.level().equals("WARN")) && l.service().equals("db") && !l.words().contains("timeout")));
        cases.add(new Case("failed OR served", l -> l.words().contains("failed") || l.words().contains("served")));
        cases.add(new Case("+user +login -failed", l -> l.words().contains("user") && l.words().contains("login")
                && !l.words().contains("failed")));
        cases.add(new Case("", l -> true));
        cases.add(new Case("*", Optional.of(mid), Optional.empty(), l -> l.ts() >= mid));
        cases.add(new Case("level:ERROR", Optional.of(BASE + 1_000_000), Optional.of(mid), l -> l.level().equals("ERROR")
                && l.ts() >= BASE + 1_000_000 && l.ts() < mid));
        cases.add(new Case("timeout", Optional.empty(), Optional.of(mid), l -> l.words().contains("timeout") && l.ts() < mid));
        cases.add(new Case("service:web AND NOT retry", Optional.of(mid), Optional.of(mid + 3_600_000),
                l -> l.service().equals("web") && !l.words().contains("retry") && l.ts() >= mid && l.ts() < mid + 3_600_000));
        assertThat(cases).hasSize(30);

        try (SearchService service = service(bus)) {
            service.start(logs(daily ? Optional.of(Duration.ofDays(36_500)) : Optional.empty()));
            awaitIndexed(service, logs.size());
            assertThat(service.stats("logs").orElseThrow().slices()).isEqualTo(daily ? 6 : 1);
            for (Case c : cases) {
                List<Log> expected = logs.stream().filter(l -> c.from().map(f -> l.ts() >= f).orElse(true)
                        && c.to().map(t -> l.ts() < t).orElse(true)).filter(c.matches()).toList();
                SearchResult result = service.search("logs", new SearchRequest(c.query(), c.from(), c.to(), 20,
                        List.of("level", "service"), f -> true));
                assertThat(result.total()).as("hits of '%s'", c.query()).isEqualTo(expected.size());
                long interval = result.intervalMillis();
                Map<Long, Long> scanned = new TreeMap<>();
                expected.forEach(l -> scanned.merge(Math.floorDiv(l.ts(), interval) * interval, 1L, Long::sum));
                Map<Long, Long> histogram = new TreeMap<>();
                result.histogram().stream().filter(b -> b.count() > 0).forEach(b -> histogram.put(b.start(), b.count()));
                assertThat(histogram).as("histogram of '%s'", c.query()).isEqualTo(scanned);
                assertThat(result.histogram().stream().mapToLong(SearchResult.Bucket::count).sum()).isEqualTo(expected.size());
                assertThat(top(result, "level")).as("top levels of '%s'", c.query()).isEqualTo(count(expected, Log::level));
                assertThat(top(result, "service")).as("top services of '%s'", c.query()).isEqualTo(count(expected, Log::service));
                List<String> newest = expected.stream().sorted((a, b) -> Long.compare(b.ts(), a.ts())).limit(20)
                        .map(l -> l.partition() + ":" + l.offset()).toList();
                assertThat(result.hits().stream().map(h -> h.partition() + ":" + h.offset()).toList())
                        .as("newest hits of '%s'", c.query()).isEqualTo(newest);
            }
        }
    }

    private static Map<String, Long> top(SearchResult result, String field) {
        Map<String, Long> out = new HashMap<>();
        result.top().get(field).forEach(v -> out.put(v.value(), v.count()));
        return out;
    }

    private static Map<String, Long> count(List<Log> logs, java.util.function.Function<Log, String> field) {
        return logs.stream().collect(Collectors.groupingBy(field, Collectors.counting()));
    }

    @Test
    void hitsCarryTheirSourceAndHighlightsAndHideWhatTheCallerMayNotRead() {
        MemoryBus bus = new MemoryBus();
        bus.append("logs", 0, "{\"ts\": 1767225600000, \"level\": \"ERROR\", \"service\": \"db\", \"message\": \"disk <full> on /var\", \"secret\": \"x\"}"
                .getBytes(StandardCharsets.UTF_8));
        try (SearchService service = service(bus)) {
            service.start(logs(Optional.empty()));
            awaitIndexed(service, 1);
            SearchResult.Hit hit = service.search("logs", SearchRequest.of("full")).hits().get(0);
            assertThat(hit.partition()).isZero();
            assertThat(hit.offset()).isZero();
            assertThat(hit.time()).isEqualTo(1767225600000L);
            assertThat(hit.source()).containsEntry("secret", "x").containsEntry("level", "ERROR");
            assertThat(hit.highlights()).containsEntry("message", List.of("disk &lt;<em>full</em>&gt; on /var"));

            Predicate<String> noSecretNoMessage = f -> !f.equals("secret") && !f.equals("message");
            SearchResult limited = service.search("logs", new SearchRequest("level:ERROR", Optional.empty(), Optional.empty(), 10,
                    List.of("service"), noSecretNoMessage));
            assertThat(limited.hits().get(0).source()).containsOnlyKeys("ts", "level", "service");
            assertThat(limited.hits().get(0).highlights()).isEmpty();
            assertThatThrownBy(() -> service.search("logs", new SearchRequest("message:disk", Optional.empty(), Optional.empty(), 10,
                    List.of(), noSecretNoMessage))).isInstanceOf(WatershedException.class)
                    .satisfies(e -> assertThat(((WatershedException) e).code()).isEqualTo(ErrorCode.FORBIDDEN));
            assertThatThrownBy(() -> service.search("logs", new SearchRequest("disk", Optional.empty(), Optional.empty(), 10,
                    List.of(), noSecretNoMessage))).hasMessageContaining("you may read none of them");
            assertThatThrownBy(() -> service.search("logs", new SearchRequest("*", Optional.empty(), Optional.empty(), 10,
                    List.of("message"), f -> true))).hasMessageContaining("only keyword fields have top values");
            assertThatThrownBy(() -> service.search("logs", SearchRequest.of("secret:x")))
                    .hasMessageContaining("field 'secret': it is not indexed");
            assertThatThrownBy(() -> service.search("clicks", SearchRequest.of("x")))
                    .hasMessageContaining("it has no search index");
        }
    }

    @Test
    void aMalformedQueryIsRefusedWithItsPositionAndReason() {
        MemoryBus bus = new MemoryBus();
        try (SearchService service = service(bus)) {
            service.start(logs(Optional.empty()));
            assertThat(invalid(service, "level:(ERROR OR")).containsEntry("line", 1).containsEntry("column", 16)
                    .containsEntry("reason", "the query ends too early");
            assertThat(invalid(service, "timeout AND AND disk")).containsEntry("line", 1).containsEntry("column", 13);
            assertThat(invalid(service, "message:\"unclosed")).containsEntry("line", 1).containsEntry("column", 18)
                    .hasEntrySatisfying("reason", r -> assertThat((String) r).contains("the query ends inside"));
            assertThat(invalid(service, "level:ERROR)\n")).containsEntry("line", 1).containsEntry("column", 12)
                    .hasEntrySatisfying("reason", r -> assertThat((String) r).startsWith("unexpected ')'"));
            assertThat(invalid(service, "disk\n  AND )")).containsEntry("line", 2).containsEntry("column", 7);
        }
    }

    private static Map<String, Object> invalid(SearchService service, String query) {
        try {
            service.search("logs", SearchRequest.of(query));
        } catch (WatershedException e) {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
            assertThat(e.getMessage()).startsWith("Cannot search stream 'logs': the query is not valid at line ");
            return e.details();
        }
        throw new AssertionError("'" + query + "' was accepted");
    }

    @Test
    void aRestartResumesAtTheLastCommitAndAReplayedRangeDoesNotDouble() {
        MemoryBus bus = new MemoryBus();
        List<Log> first = generate(bus, 400, 1);
        try (SearchService service = service(bus)) {
            service.start(logs(Optional.empty()));
            awaitIndexed(service, 400);
        }
        // what a crash leaves: records added after the last commit, never committed (close() rolls them back)
        List<BusRecord> records = new ArrayList<>();
        try (var reader = bus.reader("test", io.watershed.spi.BusReader.Pace.PROMPT)) {
            reader.assign(List.of(new io.watershed.spi.BusPartition("logs", 0), new io.watershed.spi.BusPartition("logs", 1),
                    new io.watershed.spi.BusPartition("logs", 2)));
            records.addAll(reader.poll(Duration.ofMillis(100)));
        }
        List<Log> second = generate(bus, 300, 2);
        try (StreamIndex index = new StreamIndex(dir.resolve("logs"), logs(Optional.empty()))) {
            Map<Integer, Long> committed = index.committedOffsets();
            assertThat(committed.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(400);
            for (BusRecord r : records) { // the whole first range again, then committed: replaced, not doubled
                index.add(r, (ObjectNode) readTree(r.value()));
            }
            index.commit(committed);
            index.refresh();
            assertThat(index.search(SearchRequest.of("")).total()).isEqualTo(400);
            for (BusRecord r : records) {
                index.add(r, (ObjectNode) readTree(r.value()));
            }
            // no commit: the close forgets these as a kill -9 would
        }
        try (SearchService service = service(bus)) {
            service.start(logs(Optional.empty()));
            awaitIndexed(service, 700);
            SearchResult all = service.search("logs", new SearchRequest("", Optional.empty(), Optional.empty(), 1000, List.of(),
                    f -> true));
            assertThat(all.total()).isEqualTo(700);
            Set<String> ids = new HashSet<>();
            all.hits().forEach(h -> ids.add(h.partition() + ":" + h.offset()));
            Set<String> expected = new HashSet<>();
            first.forEach(l -> expected.add(l.partition() + ":" + l.offset()));
            second.forEach(l -> expected.add(l.partition() + ":" + l.offset()));
            assertThat(ids).isEqualTo(expected);
        }
    }

    @Test
    void deadLettersAndNonObjectsAreSkippedAndEventsPastRetentionAreNotIndexed() {
        MemoryBus bus = new MemoryBus();
        long now = System.currentTimeMillis();
        bus.publish("logs", List.of(EventBus.Event.deadLetter("not json".getBytes(StandardCharsets.UTF_8), "bad", now),
                new EventBus.Event(null, "[1, 2]".getBytes(StandardCharsets.UTF_8), now),
                new EventBus.Event(null, ("{\"ts\": " + (now - 3_600_000) + ", \"message\": \"old\"}").getBytes(StandardCharsets.UTF_8), now),
                new EventBus.Event(null, ("{\"ts\": \"" + java.time.Instant.ofEpochMilli(now) + "\", \"message\": \"new\"}")
                        .getBytes(StandardCharsets.UTF_8), now)));
        bus.append("logs", 0, "not json".getBytes(StandardCharsets.UTF_8));
        try (SearchService service = service(bus)) {
            service.start(logs(Optional.of(Duration.ofMinutes(30))));
            // the event an hour old is past retention when the index starts: it is never indexed
            awaitIndexed(service, 1);
            assertThat(service.search("logs", SearchRequest.of("new")).hits()).singleElement()
                    .satisfies(h -> assertThat(h.time()).isEqualTo(now));
            assertThat(service.search("logs", SearchRequest.of("old")).total()).isZero();
        }
    }

    /**
     * With a retention, each day of events has its own Lucene index: a day wholly past the retention is dropped whole
     * (its directory deleted at the indexer's next commit), the day the cutoff falls in loses only the older events,
     * and a restart neither brings a dropped day back nor doubles anything.
     */
    @Test
    void retentionDropsWholeDaysAndARestartKeepsThemDropped() throws Exception {
        MemoryBus bus = new MemoryBus();
        long day = 86_400_000L;
        long now = System.currentTimeMillis();
        long today = Math.floorDiv(now, day) * day;
        // 10 and 5 days old, just past three days, just within three days, and now
        long[] times = {today - 10 * day + 3_600_000, today - 5 * day + 3_600_000, now - 3 * day - 30_000, now - 3 * day + 30_000, now};
        for (long t : times) {
            bus.append("logs", 0, ("{\"ts\": " + t + ", \"message\": \"at " + t + "\"}").getBytes(StandardCharsets.UTF_8));
        }
        StreamSpec threeDays = logs(Optional.of(Duration.ofDays(3)));
        try (SearchService service = service(bus)) {
            service.start(threeDays);
            // the start expires at once: the events past three days are never indexed, so their days are never made
            awaitIndexed(service, 2);
            assertThat(days()).hasSize(2);
        }
        java.nio.file.Files.walk(dir.resolve("logs")).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        Set<Long> allDays = new HashSet<>();
        for (long t : times) {
            allDays.add(Math.floorDiv(t, day));
        }
        try (SearchService service = service(bus)) {
            service.start(logs(Optional.of(Duration.ofDays(36_500))));
            awaitIndexed(service, 5);
            assertThat(days()).hasSize(allDays.size());
            assertThat(service.stats("logs").orElseThrow().slices()).isEqualTo(allDays.size());
        }
        // the days 10 and 5 days old go whole; the day three days ago loses only its event past the cutoff
        int kept = allDays.size() - 2;
        try (SearchService service = service(bus)) {
            service.start(threeDays);
            Await.until("the days past retention dropped and the rest searchable", Duration.ofSeconds(30),
                    () -> days().size() == kept && service.search("logs", SearchRequest.of("")).total() == 2);
            assertThat(service.search("logs", SearchRequest.of("")).hits()).extracting(SearchResult.Hit::time)
                    .containsExactly(now, times[3]);
        }
        try (SearchService service = service(bus)) {
            service.start(threeDays);
            awaitIndexed(service, 2);
            assertThat(days()).hasSize(kept);
            assertThat(service.search("logs", SearchRequest.of("")).total()).isEqualTo(2);
        }
    }

    /** The day directories of the index of logs. */
    private List<String> days() {
        try (var children = java.nio.file.Files.list(dir.resolve("logs"))) {
            return children.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(IndexSlices.DAY_PREFIX)).sorted().toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode readTree(byte[] value) {
        try {
            return JSON.readTree(value);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void intervalsAreRound() {
        assertThat(StreamIndex.interval(60_000)).isEqualTo(1_000);
        assertThat(StreamIndex.interval(3_600_000)).isEqualTo(60_000);
        assertThat(StreamIndex.interval(86_400_000)).isEqualTo(1_800_000);
        assertThat(StreamIndex.encode(new LinkedHashMap<>(Map.of(2, 5L, 0, 7L)))).isEqualTo("0=7,2=5");
        assertThat(StreamIndex.decode("0=7,2=5")).isEqualTo(Map.of(0, 7L, 2, 5L));
    }
}
