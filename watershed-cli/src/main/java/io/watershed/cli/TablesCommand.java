package io.watershed.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code watershed tables [compact TABLE]}: each lake table's rows, files, snapshots and last compaction. */
@Command(name = "tables", description = "List the lake's tables: rows, data files, average file size, snapshots, bytes and "
        + "last compaction.", mixinStandardHelpOptions = true, subcommands = TablesCommand.Compact.class)
final class TablesCommand implements Callable<Integer> {
    @Mixin
    ServerOptions server;

    @Override
    public Integer call() {
        JsonNode tables = ModelsCommands.request(new ApiClient(server), "GET", "/v1/tables", null).path("tables");
        if (tables.isEmpty()) {
            System.out.println("No tables yet. Send events (watershed send STREAM ...) and each stream gets raw.<stream>.");
            return 0;
        }
        print(System.out, tables);
        return 0;
    }

    static void print(PrintStream out, Iterable<JsonNode> tables) {
        out.printf("%-36s %12s %7s %10s %10s %9s %-20s %s%n", "TABLE", "ROWS", "FILES", "AVG FILE", "BYTES", "SNAPSHOTS",
                "LAST COMPACTION", "RETENTION");
        for (JsonNode t : tables) {
            String compacted = t.path("last_compaction").isNull() ? "-" : t.path("last_compaction").asText().replace('T', ' ');
            if (compacted.length() > 19) {
                compacted = compacted.substring(0, 19);
            }
            out.printf("%-36s %12d %7d %10s %10s %9d %-20s %s%n", t.path("name").asText(), t.path("rows").asLong(),
                    t.path("files").asLong(), bytes(t.path("average_file_bytes").asLong()), bytes(t.path("bytes").asLong()),
                    t.path("snapshots").asInt(), compacted,
                    t.path("retention").isNull() ? "forever" : t.path("retention").asText());
        }
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int unit = -1;
        while (v >= 1024 && unit < units.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format("%.1f %s", v, units[unit]);
    }

    @Command(name = "compact", description = "Compact a table now: rewrite the small files of every partition into files near "
            + "the target size, expire old snapshots and remove orphan files. Ingest and queries go on meanwhile.",
            mixinStandardHelpOptions = true)
    static final class Compact implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "TABLE", description = "The table, as namespace.table (e.g. raw.clicks).")
        String table;

        @Override
        public Integer call() throws InterruptedException {
            ApiClient api = new ApiClient(server).withPostTimeout(Duration.ofHours(6));
            CompletableFuture<JsonNode> answer = CompletableFuture.supplyAsync(
                    () -> ModelsCommands.request(api, "POST", "/v1/tables/" + table + "/compact", Map.of()));
            JsonNode r;
            try (ProgressBar progress = new ProgressBarBuilder().setTaskName("compacting " + table).setInitialMax(-1)
                    .setStyle(ProgressBarStyle.ASCII).continuousUpdate().build()) {
                while (true) {
                    try {
                        r = answer.get(200, TimeUnit.MILLISECONDS);
                        break;
                    } catch (TimeoutException e) {
                        progress.refresh();
                    }
                }
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException runtime ? runtime : new IllegalStateException(e.getCause());
            }
            System.out.printf("%s: %d data files -> %d (%d small files, %s, rewritten into %d); %d snapshot(s) expired, "
                    + "%d orphan file(s) removed, %d file(s) dropped by retention; %.1f s%n", r.path("table").asText(),
                    r.path("files_before").asInt(), r.path("files_after").asInt(), r.path("files_rewritten").asInt(),
                    bytes(r.path("bytes_rewritten").asLong()), r.path("files_written").asInt(), r.path("snapshots_expired").asInt(),
                    r.path("orphan_files_removed").asInt(), r.path("partition_files_dropped").asInt(),
                    r.path("elapsed_ms").asLong() / 1000.0);
            if (r.path("conflicts").asInt() > 0) {
                System.out.printf("%d partition(s) changed meanwhile (a model rebuilt it, or retention dropped it) and were left "
                        + "as they are; run it again to compact them%n", r.path("conflicts").asInt());
            }
            return 0;
        }
    }
}
