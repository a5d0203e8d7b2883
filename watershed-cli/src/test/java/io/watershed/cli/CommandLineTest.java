package io.watershed.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A short command reads only its own options; help, or a name no command has, still sees every command. */
class CommandLineTest {
    @Test
    void aCommandGetsOnlyItselfAndHelpGetsEveryCommand() {
        assertThat(WatershedCommand.commandLine(new String[] {"tables", "compact", "raw.clicks"}).getSubcommands())
                .containsOnlyKeys("tables");
        assertThat(WatershedCommand.commandLine(new String[] {"sql", "-c", "SELECT 1"}).getSubcommands()).containsOnlyKeys("sql");
        int every = WatershedCommand.SUBCOMMANDS.size();
        assertThat(WatershedCommand.commandLine(new String[] {"help", "tables"}).getSubcommands()).hasSize(every);
        assertThat(WatershedCommand.commandLine(new String[] {"--help"}).getSubcommands()).hasSize(every);
        assertThat(WatershedCommand.commandLine(new String[] {"tabels"}).getSubcommands()).hasSize(every);
        assertThat(WatershedCommand.commandLine().getSubcommands()).containsKeys("init", "up", "sql", "tables", "access", "help");
    }
}
