package io.watershed.cli;

import io.watershed.project.SettingKey;
import picocli.CommandLine.Command;

/** {@code watershed config}: the reference of every watershed.yaml key, from the same declarations the validator uses. */
@Command(name = "config", mixinStandardHelpOptions = true, description = "Print the reference of every watershed.yaml setting.")
final class ConfigCommand implements Runnable {
    @Override
    public void run() {
        System.out.print(reference());
    }

    static String reference() {
        StringBuilder out = new StringBuilder("| Key | Type | Default | Description |\n|---|---|---|---|\n");
        for (SettingKey key : SettingKey.ALL) {
            out.append("| `").append(key.name()).append("` | ").append(key.kind().name().toLowerCase()).append(" | `")
                    .append(key.defaultValue()).append("` | ").append(key.description()).append(" |\n");
        }
        return out.toString();
    }
}
