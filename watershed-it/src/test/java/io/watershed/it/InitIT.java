package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.cli.WatershedCommand;
import io.watershed.testing.Await;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.WatershedHttp;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first hour as a new user lives it: {@code watershed init} into an empty folder, {@code validate}, {@code up}, the
 * project's own generate.sh for a few seconds — then every layer tells the same story: the pipeline's live view
 * (speed), its lake table, the raw table, and the model built by {@code watershed run} (batch) count the same clicks.
 */
class InitIT {
    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path root;

    @Test
    void aNewProjectRunsEveryLayer() throws Exception {
        Path project = root.resolve("shop");
        Cli init = cli("init", project.toString());
        assertThat(init.code()).as(init.out()).isZero();
        assertThat(init.out()).contains("pipelines/clicks.sql", "generate.sh", "./watershed up --project");
        assertThat(Files.isExecutable(project.resolve("generate.sh"))).isTrue();
        assertThat(Files.readString(project.resolve(".gitignore"))).contains(".watershed/");
        assertThat(Files.readString(project.resolve("watershed.yaml"))).contains("name: shop");

        // init never writes over a file: in a folder holding a watershed.yaml it writes nothing and says why
        Path mine = Files.createDirectories(root.resolve("mine"));
        Files.writeString(mine.resolve("watershed.yaml"), "name: mine\n");
        Cli refused = cli("init", mine.toString());
        assertThat(refused.code()).isEqualTo(2);
        assertThat(refused.err()).contains("watershed.yaml exists", "nothing was written");
        assertThat(Files.readString(mine.resolve("watershed.yaml"))).isEqualTo("name: mine\n");
        try (var files = Files.list(mine)) {
            assertThat(files).hasSize(1);
        }
        assertThat(cli("init", root.resolve("other").toString(), "--template", "nope").err()).contains("clickstream, empty");
        assertThat(Files.exists(root.resolve("other"))).isFalse();

        Cli validate = cli("validate", "--project", project.toString());
        assertThat(validate.code()).as(validate.err()).isZero();
        assertThat(validate.out()).contains("1 pipeline(s): clicks", "1 model(s): top_pages");

        // every port from the environment, as the template allows; the data directory is the project's .watershed
        Map<String, String> ports = Map.of("WATERSHED_PORT", "0", "WATERSHED_KAFKA_PORT", "0", "WATERSHED_FORWARD_PORT", "0");
        try (PlatformProcess platform = PlatformProcess.start(project, project.resolve(".watershed"), root.resolve("platform.log"),
                List.of("-Xmx768m"), System.getProperty("java.class.path"), ports)) {
            WatershedHttp http = platform.http();
            http.awaitPipelinesRunning(1, Duration.ofSeconds(180));
            // the generator finds the admin token in the project's .watershed by itself
            ProcessBuilder generate = new ProcessBuilder("bash", project.resolve("generate.sh").toString())
                    .redirectErrorStream(true).redirectOutput(root.resolve("generate.log").toFile());
            generate.environment().put("WATERSHED_URL", platform.url());
            generate.environment().remove("WATERSHED_TOKEN");
            Process generator = generate.start();
            try {
                // about 2% of the clicks carry a price the stream cannot hold: they are dead-lettered, with the reason
                Await.until("purchases in the pipeline's lake table, and a click in the dead letters", Duration.ofSeconds(120),
                        () -> http.count("SELECT count(*) FROM marts.purchases") >= 5
                                && http.count("SELECT count(*) FROM raw.clicks__dlq WHERE reason LIKE '%price%'") >= 1);
            } finally {
                generator.destroy();
                generator.waitFor();
            }
            assertThat(Files.readString(root.resolve("generate.log"))).doesNotContain("failed", "no token");

            // once the lake and the pipeline have every click, each layer counts the same clicks
            Await.until("the live view, the pipeline's lake table and the raw table to agree", Duration.ofSeconds(120), () -> {
                long raw = http.count("SELECT count(*) FROM raw.clicks");
                return raw == http.count("SELECT sum(\"views\") FROM live.page_activity")
                        && http.count("SELECT count(*) FROM raw.clicks WHERE price IS NOT NULL")
                                == http.count("SELECT count(*) FROM marts.purchases");
            });
            long clicks = http.count("SELECT count(*) FROM raw.clicks");
            assertThat(clicks).isPositive();
            // the batch layer: `watershed run` builds the model over the same clicks, and its checks pass. SQL sees the
            // bus's fresh tail, a model the lake's last commit (every 5 s): a build may miss the newest clicks, the next not
            Await.until("models.top_pages to count every one of " + clicks + " clicks", Duration.ofSeconds(90), () -> {
                Cli run = cli("run", "--server", platform.url(), "--token-file", project.resolve(".watershed/admin.token").toString());
                assertThat(run.code()).as(run.out() + run.err()).isZero();
                return http.count("SELECT sum(\"views\") FROM models.top_pages") == clicks;
            });
            assertThat(http.count("SELECT count(*) FROM models.top_pages")).isBetween(1L, 6L);
        }
    }

    private record Cli(int code, String out, String err) {}

    /** The CLI in this JVM, as a user would type it. */
    private static Cli cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            var command = WatershedCommand.commandLine();
            command.setOut(new PrintWriter(System.out, true));
            command.setErr(new PrintWriter(System.err, true));
            int code = command.execute(args);
            return new Cli(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }
}
