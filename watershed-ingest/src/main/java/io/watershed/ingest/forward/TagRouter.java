package io.watershed.ingest.forward;

import io.watershed.spi.SourceSpec;
import io.watershed.spi.StreamSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Maps a Fluentd tag to the stream whose {@code forward} source declares a matching pattern, with Fluentd's
 * match syntax: {@code *} is one tag part, {@code **} zero or more parts, {@code {a,b}} either alternative.
 * Patterns without wildcards are tried first, then the others in the streams' order. A tag nobody declares goes,
 * when streams may be created on first use, to the stream named after it ({@code app.web-1} → {@code app_web_1}).
 */
public final class TagRouter {
    /** Where a tag goes: the stream and the source that took it (its tag and time fields). */
    public record Route(String stream, SourceSpec.Forward source) {}

    private record Rule(Pattern pattern, boolean literal, Route route) {}

    static final SourceSpec.Forward CREATED_ON_FIRST_USE =
            new SourceSpec.Forward(List.of("**"), Optional.of("tag"), Optional.of("time"));

    private final List<Rule> rules;
    private final boolean createOnFirstUse;
    private final Map<String, Optional<Route>> cache = new ConcurrentHashMap<>();

    public TagRouter(Collection<StreamSpec> streams, boolean createOnFirstUse) {
        List<Rule> literal = new ArrayList<>();
        List<Rule> wild = new ArrayList<>();
        for (StreamSpec stream : streams) {
            for (SourceSpec source : stream.sources()) {
                if (source instanceof SourceSpec.Forward forward) {
                    for (String tag : forward.tags()) {
                        boolean isLiteral = !tag.contains("*") && !tag.contains("{");
                        Rule rule = new Rule(compile(tag), isLiteral, new Route(stream.name(), forward));
                        (isLiteral ? literal : wild).add(rule);
                    }
                }
            }
        }
        literal.addAll(wild);
        this.rules = List.copyOf(literal);
        this.createOnFirstUse = createOnFirstUse;
    }

    /** Whether any stream declares a forward source. */
    public boolean hasRoutes() {
        return !rules.isEmpty();
    }

    public Optional<Route> route(String tag) {
        if (cache.size() > 10_000) {
            cache.clear(); // tags are usually few; many distinct ones must not grow this without bound
        }
        return cache.computeIfAbsent(tag, t -> {
            for (Rule rule : rules) {
                if (rule.pattern.matcher(t).matches()) {
                    return Optional.of(rule.route);
                }
            }
            if (createOnFirstUse) {
                String name = streamNameOf(t);
                if (StreamSpec.NAME.matcher(name).matches()) {
                    return Optional.of(new Route(name, CREATED_ON_FIRST_USE));
                }
            }
            return Optional.empty();
        });
    }

    /** {@code App.Web-1} → {@code app_web_1}: lowercase, every run of other characters one underscore. */
    static String streamNameOf(String tag) {
        String name = tag.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "_").replaceAll("^_+|_+$", "");
        return name;
    }

    /** Fluentd's match pattern as a regular expression over the whole tag. */
    static Pattern compile(String pattern) {
        StringBuilder regex = new StringBuilder();
        int i = 0;
        while (i < pattern.length()) {
            char c = pattern.charAt(i);
            if (c == '*' && i + 1 < pattern.length() && pattern.charAt(i + 1) == '*') {
                // "a.**" also matches "a"; "**.b" also matches "b"
                boolean dotAfter = i + 2 < pattern.length() && pattern.charAt(i + 2) == '.';
                boolean dotBefore = regex.length() >= 2 && regex.toString().endsWith("\\.");
                if (dotBefore && i + 2 == pattern.length()) {
                    regex.setLength(regex.length() - 2);
                    regex.append("(\\..*)?");
                    i += 2;
                } else if (dotAfter) {
                    regex.append("(.*\\.)?");
                    i += 3;
                } else {
                    regex.append(".*");
                    i += 2;
                }
            } else if (c == '*') {
                regex.append("[^.]*");
                i++;
            } else if (c == '{') {
                int end = pattern.indexOf('}', i);
                List<String> alternatives = new ArrayList<>();
                for (String alternative : pattern.substring(i + 1, end).split(",", -1)) {
                    alternatives.add(compile(alternative).pattern());
                }
                regex.append("(?:").append(String.join("|", alternatives)).append(')');
                i = end + 1;
            } else {
                regex.append(c == '.' ? "\\." : Character.isLetterOrDigit(c) || c == '_' ? String.valueOf(c)
                        : Pattern.quote(String.valueOf(c)));
                i++;
            }
        }
        return Pattern.compile(regex.toString());
    }
}
