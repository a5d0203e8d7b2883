package io.watershed.stream;

import io.watershed.spi.PipelineSpec;
import io.watershed.spi.StreamSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.core.execution.JobClient;

/**
 * One pipeline of the project as the runner keeps it: its file, the streams it writes and reads (found in its SQL), and
 * the state of its current job. A restart replaces it with a new one for the same name.
 */
final class Pipeline {
    /** An {@code INSERT INTO <target> <query>} statement; group 1 is the target, group 2 the query. */
    static final Pattern INSERT = Pattern.compile("(?is)INSERT\\s+INTO\\s+((?:`[^`]+`|[\\w]+)(?:\\s*\\.\\s*(?:`[^`]+`|[\\w]+)){0,2})\\s+(.*)");
    private static final Pattern STREAM_REFERENCE = Pattern.compile("(?i)(?<![\\w`])`?streams`?\\s*\\.\\s*`?([a-z][a-z0-9_]*)`?");

    final PipelineSpec spec;
    /** Streams its INSERTs write, and streams it mentions otherwise (what it reads). */
    final Set<String> writes = new TreeSet<>();
    final Set<String> reads = new TreeSet<>();
    volatile String state = "STARTING";
    volatile String error;
    volatile JobClient job;
    /** Names this pipeline's state from its first start until it is reset; its stream sinks' commit records use it. */
    volatile String run;
    /** Set while the platform stops or restarts it: its job ending then is no failure. */
    volatile boolean stopping;
    /** The checkpoint or savepoint its job started from, if any. */
    volatile String restoredFrom;
    final List<String> outputs = new CopyOnWriteArrayList<>();
    final List<String> views = new CopyOnWriteArrayList<>();
    /** Offsets its sources had committed at the last status, for events per second (guarded by this). */
    long lastCommitted = -1;
    long lastCommittedAt;
    double eventsPerSecond;

    Pipeline(PipelineSpec spec) {
        this.spec = spec;
        for (SqlScript.Statement statement : SqlScript.split(spec.sql())) {
            Matcher insert = INSERT.matcher(statement.text());
            boolean inserts = insert.matches();
            Matcher m = STREAM_REFERENCE.matcher(statement.text());
            while (m.find()) {
                boolean target = inserts && m.start() >= insert.start(1) && m.end() <= insert.end(1);
                (target ? writes : reads).add(m.group(1));
            }
        }
        reads.removeAll(writes);
    }

    String name() {
        return spec.name();
    }

    /** Its file as messages name it: {@code pipelines/<name>.sql}. */
    String file() {
        return "pipelines/" + spec.file().getFileName();
    }

    boolean failed() {
        return state.equals("FAILED");
    }

    void fail(String message) {
        state = "FAILED";
        error = message;
    }

    /**
     * Pipelines that write a stream no file declares go before the pipelines that read it, so its
     * columns are known when they are planned. Pipelines in a cycle of such streams are failed through {@code fail}
     * and come last.
     */
    static List<Pipeline> inDependencyOrder(Collection<Pipeline> pipelines, Collection<StreamSpec> streams,
            BiConsumer<Pipeline, String> fail) {
        Set<String> declared = new HashSet<>();
        streams.stream().filter(s -> !s.fields().isEmpty()).forEach(s -> declared.add(s.name()));
        Map<String, List<Pipeline>> writers = new HashMap<>();
        pipelines.forEach(p -> p.writes.forEach(w -> writers.computeIfAbsent(w, k -> new ArrayList<>()).add(p)));
        List<Pipeline> order = new ArrayList<>();
        Set<Pipeline> placed = new HashSet<>();
        List<Pipeline> waiting = new ArrayList<>(pipelines);
        boolean progress = true;
        while (!waiting.isEmpty() && progress) {
            progress = false;
            for (Iterator<Pipeline> it = waiting.iterator(); it.hasNext(); ) {
                Pipeline p = it.next();
                boolean ready = p.reads.stream().filter(r -> !declared.contains(r))
                        .allMatch(r -> placed.containsAll(writers.getOrDefault(r, List.of())));
                if (ready) {
                    order.add(p);
                    placed.add(p);
                    it.remove();
                    progress = true;
                }
            }
        }
        for (Pipeline p : waiting) {
            fail.accept(p, p.file() + ":1:1: pipeline '" + p.name() + "' is in a cycle: "
                    + "it reads streams that are written, directly or through other pipelines, from what it writes "
                    + p.writes + " (pipelines " + waiting.stream().map(Pipeline::name).toList() + "); declare the streams "
                    + "in streams/<name>.yaml with fields, or break the cycle");
            order.add(p);
        }
        return order;
    }

    /** A pipeline that cannot start, with a message that names the file, line and column. */
    static final class PipelineException extends RuntimeException {
        PipelineException(String message) {
            super(message);
        }

        PipelineException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
