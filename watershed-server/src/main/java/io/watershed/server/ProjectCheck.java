package io.watershed.server;

import io.watershed.spi.Project;
import io.watershed.stream.FunctionJars;
import io.watershed.stream.ProjectValidation;
import java.util.List;

/**
 * What {@code watershed validate} checks beyond the project's files, without starting anything: each pipeline and
 * model planned with Flink as the platform would run it (a throwaway catalog, the project's function jars).
 *
 * @param problems mistakes, as {@code file:line:col: message}; the project does not start with any
 * @param unchecked pipelines that could not be checked offline, and why (they read lake tables known once the platform has run)
 */
public record ProjectCheck(List<String> problems, List<String> unchecked) {
    public ProjectCheck {
        problems = List.copyOf(problems);
        unchecked = List.copyOf(unchecked);
    }

    /** Plans the project's pipelines and models; a project with neither has nothing to plan. */
    public static ProjectCheck plan(Project project) {
        if (project.pipelines().isEmpty() && project.models().isEmpty()) {
            return new ProjectCheck(List.of(), List.of());
        }
        ProjectValidation.Result validation = ProjectValidation.validate(project.pipelines().values(), project.models().values(),
                project.streams().values(), project.sinks(), FunctionJars.of(project.directory()));
        return new ProjectCheck(validation.problems(), validation.unchecked());
    }
}
