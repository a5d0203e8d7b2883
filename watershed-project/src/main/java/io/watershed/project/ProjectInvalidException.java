package io.watershed.project;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.util.List;
import java.util.stream.Collectors;

/** Thrown when a project has one or more problems; carries all of them, sorted by file and position. */
public final class ProjectInvalidException extends WatershedException {
    private final List<Problem> problems;

    public ProjectInvalidException(List<Problem> problems) {
        super(ErrorCode.INVALID_CONFIG, "Cannot load project: " + problems.size() + " problem(s)\n"
                + problems.stream().sorted().map(Problem::toString).collect(Collectors.joining("\n")));
        this.problems = problems.stream().sorted().toList();
    }

    public List<Problem> problems() {
        return problems;
    }
}
