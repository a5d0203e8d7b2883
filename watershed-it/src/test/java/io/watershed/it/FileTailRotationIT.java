package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.testing.Await;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file source on one live name ({@code app.log}) while the platform, in its own JVM, is killed with SIGKILL twice:
 * rotation by rename while running and while down, copytruncate while running and while down, a partial last line,
 * multiline records parsed by a regex. Every record lands exactly once.
 */
class FileTailRotationIT {
    @TempDir
    Path root;
    Path logs;
    Path live;

    @Test
    void rotationsBothWaysAndKillNineLoseAndDoubleNothing() throws Exception {
        logs = Files.createDirectories(root.resolve("logs"));
        live = logs.resolve("app.log");
        Path project = TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 100000")
                .ingest("auto_create_streams", "false")
                .stream("app", "partitions: 2\nsources:\n  - type: file\n    paths: [" + live + "]\n    format: regex\n"
                        + "    pattern: '^(?<ts>\\S+) (?<level>[A-Z]+) (?<id>id-\\d+) (?<msg>[\\s\\S]*)$'\n"
                        + "    multiline_start: '^\\d{4}-'\n    multiline_flush: 1s\n")
                .write();
        Path data = root.resolve("data");

        write(live, 0, 300);
        Files.writeString(live, "2026-11-22T10:00:00Z INFO id-300 a line written in", StandardOpenOption.APPEND);
        PlatformProcess platform = PlatformProcess.start(project, data, root.resolve("platform.log"));
        try {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            awaitAtLeast(http, 300);
            assertThat(count(http)).as("the partial line waits for its end").isEqualTo(300);
            Files.writeString(live, " two writes\n", StandardOpenOption.APPEND);
            awaitExactly(http, 301);

            // rotation by rename while running: the logger still writes a few lines to the renamed file
            Files.move(live, logs.resolve("app.log.1"));
            write(logs.resolve("app.log.1"), 301, 10);
            write(live, 311, 190);
            awaitAtLeast(http, 400);
            platform.kill();

            // while down: more lines, then rotation by rename (the new lines are read from the renamed file after the restart)
            write(live, 501, 100);
            Files.move(live, logs.resolve("app.log.2"));
            write(live, 601, 100);
            platform = PlatformProcess.start(project, data, root.resolve("platform.log"));
            http = new WatershedHttp(platform.url(), platform.adminToken());
            awaitExactly(http, 701);

            // copytruncate while running
            write(live, 701, 100);
            awaitExactly(http, 801);
            copyTruncate("app.log.3");
            write(live, 801, 100);
            awaitExactly(http, 901);

            // copytruncate while down, after a kill in the middle of reading
            write(live, 901, 100);
            awaitAtLeast(http, 902);
            platform.kill();
            copyTruncate("app.log.4");
            write(live, 1001, 100);
            platform = PlatformProcess.start(project, data, root.resolve("platform.log"));
            http = new WatershedHttp(platform.url(), platform.adminToken());
            awaitExactly(http, 1101);

            assertThat(http.rows("SELECT level, msg FROM raw.app WHERE id = 'id-20'"))
                    .containsExactly("INFO message 20\n  at Frame.twenty(App.java:20)\n  at Main.main(Main.java:1)");
            assertThat(http.rows("SELECT msg FROM raw.app WHERE id = 'id-300'")).containsExactly("a line written in two writes");
            assertThat(http.count("SELECT count(*) FROM raw.app__dlq")).isZero();
            // each recovery path ran (not only a lucky ordering): the platform's log says so
            assertThat(Files.readString(root.resolve("platform.log")))
                    .contains("app.log was renamed to " + logs.resolve("app.log.2") + " while stopped")
                    .contains("reading the rest of " + live + " from its copy " + logs.resolve("app.log.3"))
                    .contains("reading the rest of " + live + " from its copy " + logs.resolve("app.log.4"));
        } finally {
            platform.close();
        }
    }

    /** Records {@code from..from+count-1}; every tenth carries two continuation lines. */
    static void write(Path file, int from, int count) throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = from; i < from + count; i++) {
            text.append("2026-11-22T10:00:00Z INFO id-").append(i).append(" message ").append(i).append('\n');
            if (i % 10 == 0) {
                text.append("  at Frame.").append(i == 20 ? "twenty" : "f").append("(App.java:").append(i).append(")\n");
                text.append("  at Main.main(Main.java:1)\n");
            }
        }
        Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    void copyTruncate(String copy) throws IOException {
        Files.copy(live, logs.resolve(copy), StandardCopyOption.COPY_ATTRIBUTES);
        try (FileChannel channel = FileChannel.open(live, StandardOpenOption.WRITE)) {
            channel.truncate(0);
        }
    }

    static long count(WatershedHttp http) {
        return http.count("SELECT count(*) FROM raw.app");
    }

    static void awaitAtLeast(WatershedHttp http, int n) {
        Await.until("at least " + n + " records", Duration.ofSeconds(120), () -> http.sql("SELECT 1 FROM raw.app").status() == 200
                && count(http) >= n);
    }

    static void awaitExactly(WatershedHttp http, int n) {
        Await.until(n + " records, each once", Duration.ofSeconds(120),
                () -> http.rows("SELECT count(*), count(DISTINCT id) FROM raw.app"),
                rows -> rows.equals(List.of(n + " " + n)));
    }
}
