package io.watershed.stream;

import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns what Flink throws into text a user can act on, for pipelines and models alike: the root cause's message, the
 * parser's message without its token list, the position in the user's file ({@code file:line:col: }), and for a
 * pipeline's job, why it failed and whether its saved state no longer fits its SQL.
 */
final class FlinkErrors {
    /** Where Flink's planner and parser say a problem is, relative to the statement. */
    static final Pattern POSITION = Pattern.compile("line (\\d+), column (\\d+)");
    /** A table (or view) the planner could not find; group 1 is its name as Flink wrote it. */
    static final Pattern MISSING_TABLE = Pattern.compile("(?:Object|Table) '([^']+)' not found");
    private static final Pattern ENCOUNTERED = Pattern.compile("Encountered \"([A-Za-z_][A-Za-z0-9_]*)\\b");
    private static final Pattern SINK_TABLE = Pattern.compile("'[^'.]+\\.([^'.]+)\\.([^'.]+)'");

    private FlinkErrors() {}

    /** A line and column of a statement, both from 1. */
    record Position(int line, int column) {}

    /** The innermost message of {@code e}'s causes, stripped; {@code e} itself when none has a message. */
    static String rootMessage(Throwable e) {
        Throwable cause = e;
        String message = e.getMessage();
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
            if (cause.getMessage() != null) {
                message = cause.getMessage();
            }
        }
        return message == null ? e.toString() : message.strip();
    }

    /**
     * The position Flink gives for {@code e}, 1:1 when it gives none. The planner puts the position in an outer exception
     * ("From line 2, column 52 to ...") and the reason in the root.
     */
    static Position position(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            Matcher m = POSITION.matcher(String.valueOf(t.getMessage()));
            if (m.find()) {
                return new Position(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
            }
        }
        return new Position(1, 1);
    }

    /**
     * The parser's message without its list of every token it would have taken (over a hundred lines),
     * and for a word it stopped at, the usual cause: a name that Flink SQL reserves ({@code value},
     * {@code user}, {@code dateTime}...).
     */
    static String parserMessage(String message) {
        int expecting = message.indexOf("Was expecting");
        if (expecting < 0) {
            return message;
        }
        String shortened = message.substring(0, expecting).strip();
        Matcher word = ENCOUNTERED.matcher(shortened);
        if (word.find()) {
            shortened += " If `" + word.group(1) + "` is a name, quote it with backticks: Flink SQL reserves it as a keyword.";
        }
        return shortened;
    }

    /** {@code file:line:col: } of a position in a statement of {@code file} (as {@code pipelines/x.sql}). */
    static String where(String file, SqlScript.Statement statement, int line, int column) {
        int fileLine = statement.line() + line - 1;
        column = statement.fileColumn(line, column);
        int fileColumn = line == 1 ? statement.column() + column - 1 : column;
        return file + ":" + fileLine + ":" + fileColumn + ": ";
    }

    /** The error with its position in the file: Flink's "line L, column C" is relative to the statement. */
    static String located(String file, SqlScript.Statement statement, RuntimeException e) {
        Position position = position(e);
        return where(file, statement, position.line(), position.column()) + parserMessage(rootMessage(e));
    }

    /**
     * An error of the whole job (an output that cannot take what its query gives) at the statement that
     * writes that output ({@code targets} by output name), with what to do about it.
     */
    static String locatedAtSink(String file, Map<String, SqlScript.Statement> targets, RuntimeException e) {
        String message = rootMessage(e);
        Matcher sink = SINK_TABLE.matcher(message);
        SqlScript.Statement statement = sink.find() ? targets.get(sink.group(1) + "." + sink.group(2)) : null;
        boolean toSink = statement != null && sink.group(1).equals(PipelineTables.SINKS);
        if (message.contains("doesn't support consuming update changes") && toSink) {
            message += ". Sink '" + sink.group(2) + "' has no key, so it takes appends only: give sinks/" + sink.group(2)
                    + ".yaml a key (the columns that make a row of the query unique, such as its GROUP BY columns) and its rows "
                    + "are upserted and deleted by it";
        } else if (message.contains("doesn't support consuming update changes")) {
            message += ". A stream is a log of events and takes appends only: aggregate over windows (TUMBLE, HOP, "
                    + "SESSION), or keep the updating result in a live view (CREATE LIVE VIEW) or a lake table";
        }
        if (statement == null) {
            return file + ": " + message;
        }
        return where(file, statement, 1, 1) + message;
    }

    /** Why a pipeline's job failed, and for a state ({@code chk-N}, started from) that does not fit the changed SQL, what to do. */
    static String jobFailure(String file, String pipeline, Optional<String> state, Throwable e) {
        String reason = rootMessage(e);
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null && all.length() < 20_000; t = t.getCause() == t ? null : t.getCause()) {
            all.append(t).append('\n');
        }
        if (state.isPresent() && stateDoesNotFit(all.toString())) {
            return stateDoesNotFit(file, pipeline, state.get(), reason);
        }
        return file + ": the job failed: " + reason;
    }

    /** Whether a failure's text says the saved state does not fit the job. */
    static boolean stateDoesNotFit(String failure) {
        return failure.contains("Cannot map checkpoint/savepoint state") || failure.contains("StateMigrationException")
                || failure.contains("rollback to checkpoint/savepoint") || failure.contains("incompatible");
    }

    /** The failure of a pipeline whose saved state does not fit its SQL, with the way out. */
    static String stateDoesNotFit(String file, String pipeline, String state, String reason) {
        return file + ": its saved state (" + state + ") does not fit its SQL, "
                + "most likely because the SQL changed: " + reason + ". Run `watershed pipelines restart " + pipeline + " --reset` to start it over "
                + "without state: it reads its streams from the beginning again, its live views start empty, and rows it "
                + "already wrote to lake tables and streams stay";
    }
}
