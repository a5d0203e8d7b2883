package io.watershed.cli;

import io.watershed.project.ProjectInvalidException;
import io.watershed.project.ProjectLoader;
import io.watershed.spi.Project;
import io.watershed.spi.SettingsSchema;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code watershed config}: the reference of every watershed.yaml key, from the declarations the loader binds and checks
 * ({@link SettingsSchema}); with {@code --effective}, the values a project resolves to, secrets masked.
 */
@Command(name = "config", mixinStandardHelpOptions = true, description = "Print the reference of every watershed.yaml setting, "
        + "or with --effective the values a project resolves to (secrets masked).")
final class ConfigCommand implements Callable<Integer> {
    @Option(names = "--effective", description = "Print the settings of --project in --profile, after defaults and ${VAR}s.")
    boolean effective;

    @Option(names = "--project", paramLabel = "DIR", defaultValue = ".", description = "Project folder (default: current directory).")
    Path project;

    @Option(names = "--profile", paramLabel = "NAME", description = "Profile to resolve with.")
    String profile;

    @Override
    public Integer call() {
        if (!effective) {
            System.out.print(reference());
            return 0;
        }
        try {
            Project loaded = ProjectLoader.withSystemEnvironment().load(project, profile);
            System.out.print(effective(loaded));
            return 0;
        } catch (ProjectInvalidException e) {
            return ValidateCommand.report(e);
        }
    }

    static String reference() {
        return SettingsSchema.PLATFORM.reference();
    }

    static String effective(Project loaded) {
        StringBuilder out = new StringBuilder("# project '" + loaded.name() + "', profile " + loaded.profile() + "\n");
        for (Map.Entry<String, String> setting : SettingsSchema.PLATFORM.describe(loaded.settings()).entrySet()) {
            out.append(setting.getKey()).append(": ").append(setting.getValue()).append('\n');
        }
        return out.toString();
    }
}
