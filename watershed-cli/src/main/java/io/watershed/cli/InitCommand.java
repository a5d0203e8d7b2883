package io.watershed.cli;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code watershed init}: writes a new project from a template into a folder, never over a file that is there. */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Write a new project into DIR (default: the current directory) from a template: clickstream (a stream, "
                + "a pipeline with a live view and a lake table, a model with its check, a dashboard and a data generator) "
                + "or empty. Existing files are never overwritten.")
final class InitCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR", defaultValue = ".", description = "Project folder (created when missing).")
    Path directory;

    @Option(names = {"-t", "--template"}, paramLabel = "NAME", defaultValue = "clickstream",
            description = "clickstream or empty (default: ${DEFAULT-VALUE}).")
    String template;

    @Option(names = "--name", paramLabel = "NAME", description = "The project's name (default: the folder's name).")
    String name;

    @Override
    public Integer call() {
        Path dir = directory.toAbsolutePath().normalize();
        List<Path> there = Templates.existing(template, dir);
        if (!there.isEmpty()) {
            throw new WatershedException(ErrorCode.CONFLICT, "Cannot init a project in " + Banner.relative(dir) + ": "
                    + String.join(", ", there.stream().map(p -> dir.relativize(p).toString()).toList())
                    + (there.size() == 1 ? " exists" : " exist") + "; nothing was written. Choose an empty folder "
                    + "(watershed init DIR), or move those files away");
        }
        String projectName = name != null ? Templates.checkedName(name) : Templates.projectName(dir);
        List<Path> written = Templates.write(template, dir, projectName);
        String project = Banner.relative(dir);
        String option = project.isEmpty() ? "" : " --project " + project;
        System.out.println("Created project '" + projectName + "' (template " + template + ") in "
                + (project.isEmpty() ? "the current directory" : project) + ":");
        written.forEach(file -> System.out.println("  " + dir.relativize(file)));
        System.out.println();
        System.out.println("Next:");
        next("./watershed validate" + option, "check every file; problems come as file:line:col");
        next("./watershed up" + option, "start the platform (Ctrl-C stops it)");
        if (!project.isEmpty()) {
            // the CLI finds the admin token in .watershed/ of the directory it runs in; the project's is elsewhere
            next("export WATERSHED_TOKEN=$(cat " + project + "/.watershed/admin.token)", "for the CLI and curl, once it is up");
        }
        if (template.equals("clickstream")) {
            next((project.isEmpty() ? "." : project) + "/generate.sh", "in another terminal: 50 clicks a second");
            next("./watershed sql -c \"SELECT * FROM live.page_activity ORDER BY views DESC\"", "the pipeline's live view");
            next("./watershed run", "build models.top_pages now; then ./watershed runs");
        } else {
            next("echo '{\"message\":\"hello\"}' | ./watershed send events -", "a stream is created on first use");
        }
        return 0;
    }

    private static void next(String command, String comment) {
        System.out.println(String.format("  %-52s # %s", command, comment));
    }
}
