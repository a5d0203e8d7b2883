package io.watershed.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code watershed} command. */
@Command(name = "watershed", mixinStandardHelpOptions = true, versionProvider = WatershedCommand.Version.class,
        description = "A data platform in one program: ingest → Kafka → exactly-once Iceberg lake → SQL.",
        subcommands = {InitCommand.class, UpCommand.class, DemoCommand.class, ValidateCommand.class, SendCommand.class, SqlCommand.class,
                SearchCommand.class, PipelinesCommand.class, TablesCommand.class, ModelsCommands.Models.class, ModelsCommands.Run.class, ModelsCommands.Backfill.class,
                ModelsCommands.Runs.class, ModelsCommands.Test.class, ModelsCommands.Lineage.class, MlCommand.class, AccessCommand.class,
                ConfigCommand.class, CommandLine.HelpCommand.class})
public final class WatershedCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        int code;
        try {
            code = commandLine().execute(args);
        } catch (Throwable fatal) {
            // an Error escaped (e.g. a broken classpath): exit anyway, or engine threads keep the JVM alive
            fatal.printStackTrace();
            code = 70;
        }
        System.exit(code);
    }

    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new WatershedCommand());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println(commandLine.getColorScheme().errorText("error: " + e.getMessage()));
            return e instanceof io.watershed.spi.WatershedException w && w.code().category() == io.watershed.spi.ErrorCategory.USER ? 2 : 1;
        });
        return cli;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = WatershedCommand.class.getPackage().getImplementationVersion();
            return new String[] {"watershed " + (version == null ? "dev" : version)};
        }
    }
}
