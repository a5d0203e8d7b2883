package io.watershed.project;

/** One mistake in a project file, reported as {@code file:line:col: message} (1-based line and column). */
public record Problem(String file, int line, int column, String message) implements Comparable<Problem> {
    @Override
    public String toString() {
        return file + ":" + line + ":" + column + ": " + message;
    }

    @Override
    public int compareTo(Problem other) {
        int byFile = file.compareTo(other.file);
        if (byFile != 0) {
            return byFile;
        }
        return line != other.line ? Integer.compare(line, other.line) : Integer.compare(column, other.column);
    }
}
