package io.watershed.cli;

import io.watershed.project.Problem;
import io.watershed.project.ProjectInvalidException;
import io.watershed.project.ProjectLoader;
import io.watershed.server.ProjectCheck;
import io.watershed.spi.Project;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code watershed validate}: reports every problem of a project at once, as file:line:col: message. */
@Command(name = "validate", mixinStandardHelpOptions = true, description = "Check a project; print every problem as file:line:col: message.")
final class ValidateCommand implements Callable<Integer> {
    @Option(names = "--project", paramLabel = "DIR", defaultValue = ".", description = "Project folder (default: current directory).")
    Path project;

    @Option(names = "--profile", paramLabel = "NAME", description = "Profile to validate with.")
    String profile;

    @Override
    public Integer call() {
        try {
            Project loaded = ProjectLoader.withSystemEnvironment().load(project, profile);
            for (Problem warning : ProjectLoader.warnings(loaded)) {
                System.err.println(warning.file() + ":" + warning.line() + ":" + warning.column() + ": warning: " + warning.message());
            }
            if (!loaded.pipelines().isEmpty() || !loaded.models().isEmpty()) {
                // the planner checks each pipeline and model as the platform would run it, before anything starts
                System.err.println("planning " + loaded.pipelines().size() + " pipeline(s) and " + loaded.models().size()
                        + " model(s) with Flink...");
                ProjectCheck validation = ProjectCheck.plan(loaded);
                validation.unchecked().forEach(System.err::println);
                if (!validation.problems().isEmpty()) {
                    validation.problems().forEach(System.err::println);
                    System.err.println(validation.problems().size() + " problem(s) found");
                    return 1;
                }
            }
            System.out.println("ok: project '" + loaded.name() + "' (profile " + loaded.profile() + ") is valid; "
                    + loaded.streams().size() + " stream(s): " + String.join(", ", loaded.streams().keySet())
                    + (loaded.pipelines().isEmpty() ? "" : "; " + loaded.pipelines().size() + " pipeline(s): "
                            + String.join(", ", loaded.pipelines().keySet()))
                    + (loaded.models().isEmpty() ? "" : "; " + loaded.models().size() + " model(s): "
                            + String.join(", ", new java.util.TreeSet<>(loaded.models().keySet())))
                    + (loaded.checks().isEmpty() ? "" : "; " + loaded.checks().size() + " check(s)"));
            return 0;
        } catch (ProjectInvalidException e) {
            return report(e);
        }
    }

    /** Prints every problem as file:line:col: message, then their count; the exit code 1. */
    static int report(ProjectInvalidException e) {
        for (Problem problem : e.problems()) {
            System.err.println(problem);
        }
        System.err.println(e.problems().size() + " problem(s) found");
        return 1;
    }
}
