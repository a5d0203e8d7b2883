package io.watershed.cli;

import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code watershed} command. */
@Command(name = "watershed", mixinStandardHelpOptions = true, versionProvider = WatershedCommand.Version.class,
        description = "A data platform in one program: ingest → Kafka → exactly-once Iceberg lake → SQL.")
public final class WatershedCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The subcommands, in the order help lists them. */
    static final List<Class<?>> SUBCOMMANDS = List.of(InitCommand.class, UpCommand.class, DemoCommand.class, ValidateCommand.class,
            SendCommand.class, SqlCommand.class, SearchCommand.class, PipelinesCommand.class, TablesCommand.class,
            ModelsCommands.Models.class, ModelsCommands.Run.class, ModelsCommands.Backfill.class, ModelsCommands.Runs.class,
            ModelsCommands.Test.class, ModelsCommands.Lineage.class, MlCommand.class, AccessCommand.class, ConfigCommand.class,
            CommandLine.HelpCommand.class);

    public static void main(String[] args) {
        int code;
        try {
            code = commandLine(args).execute(args);
        } catch (Throwable fatal) {
            // an Error escaped (e.g. a broken classpath): exit anyway, or engine threads keep the JVM alive
            fatal.printStackTrace();
            code = 70;
        }
        System.exit(code);
    }

    /** The command with every subcommand: what help lists. */
    public static CommandLine commandLine() {
        return commandLine(new String[0]);
    }

    /**
     * The command with only the subcommand {@code args} start with, when they name one: picocli reads every option of
     * each command it is given by reflection, a third of a short command's start-up when it read all of them.
     */
    static CommandLine commandLine(String[] args) {
        CommandLine cli = new CommandLine(new WatershedCommand());
        String first = args.length == 0 ? null : args[0];
        boolean named = first != null && !first.equals("help") && SUBCOMMANDS.stream().anyMatch(c -> names(c).contains(first));
        for (Class<?> command : SUBCOMMANDS) {
            if (!named || names(command).contains(first)) {
                cli.addSubcommand(command);
            }
        }
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println(commandLine.getColorScheme().errorText("error: " + e.getMessage()));
            return e instanceof io.watershed.spi.WatershedException w && w.code().category() == io.watershed.spi.ErrorCategory.USER ? 2 : 1;
        });
        return cli;
    }

    private static List<String> names(Class<?> command) {
        Command annotation = command.getAnnotation(Command.class);
        List<String> names = new java.util.ArrayList<>(List.of(annotation.aliases()));
        names.add(annotation.name());
        return names;
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
