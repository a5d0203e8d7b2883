package io.watershed.project;

import io.watershed.spi.ModelSpec;
import io.watershed.spi.ModelSpec.TableRef;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.Settings;
import io.watershed.spi.StreamSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Loads {@code models/*.sql}: each model's SELECT (one statement, known variables only), its settings
 * ({@link ModelSettings}) and the tables it reads, resolved and checked for cycles ({@link ModelDag}). Checks of
 * the models' tables are loaded by {@link CheckLoader}.
 */
final class ModelLoader {
    static final Set<String> VARIABLES = Set.of("start", "end", "start_date", "end_date");
    private static final Pattern VARIABLE = Pattern.compile("\\{\\{\\s*([^}]*?)\\s*}}");

    private final Path directory;
    private final Settings.Models defaults;
    private final List<Problem> problems;
    private final ModelSettings settings;
    private final ModelDag dag;

    ModelLoader(ProjectLoader loader, Path directory, Settings.Models defaults, Map<String, String> schedules,
            List<Problem> problems) {
        this.directory = directory.toAbsolutePath().normalize(); // so that it relativizes the absolute paths of models
        this.defaults = defaults;
        this.problems = problems;
        this.settings = new ModelSettings(loader, this.directory, defaults, schedules, problems);
        this.dag = new ModelDag(this.directory, defaults.namespace(), problems);
    }

    Map<String, ModelSpec> load(Map<String, StreamSpec> streams, Map<String, PipelineSpec> pipelines) {
        Path dir = directory.resolve("models");
        Map<String, ModelSpec> models = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return models;
        }
        List<Path> files = regularFiles(dir);
        Map<String, String> sql = new TreeMap<>();
        Map<String, Path> paths = new HashMap<>();
        Map<String, ModelSpec.Config> configs = new HashMap<>();
        for (Path file : files) {
            String fileName = file.getFileName().toString();
            String shown = directory.relativize(file).toString();
            if (fileName.endsWith(".yaml") || fileName.endsWith(".yml")) {
                String stem = fileName.replaceFirst("\\.ya?ml$", "");
                if (!Files.isRegularFile(dir.resolve(stem + ".sql"))) {
                    problems.add(new Problem(shown, 1, 1, "settings for model '" + stem + "', but there is no models/" + stem
                            + ".sql; write its SELECT there, or rename this file"));
                }
                continue;
            }
            if (!fileName.endsWith(".sql")) {
                continue;
            }
            String name = fileName.substring(0, fileName.length() - ".sql".length());
            if (!StreamSpec.NAME.matcher(name).matches()) {
                problems.add(new Problem(shown, 1, 1, "model file name '" + name + "' is not a valid model name; use "
                        + StreamSpec.NAME_RULE));
                continue;
            }
            String text;
            try {
                text = Files.readString(file);
            } catch (IOException e) {
                problems.add(new Problem(shown, 1, 1, "cannot read: " + e.getMessage()));
                continue;
            }
            Path yaml = Files.isRegularFile(dir.resolve(name + ".yaml")) ? dir.resolve(name + ".yaml") : dir.resolve(name + ".yml");
            ModelSpec.Config config = settings.read(name, shown, text, yaml);
            checkBody(text, shown, name);
            // a model with a mistake still counts as one, so that what reads it is checked against it
            sql.put(name, text);
            paths.put(name, file.toAbsolutePath().normalize());
            configs.put(name, config);
        }
        Set<String> produced = ModelDag.producedTables(streams, pipelines);
        for (Map.Entry<String, String> model : sql.entrySet()) {
            String shown = directory.relativize(paths.get(model.getKey())).toString();
            if (produced.contains(defaults.namespace() + "." + model.getKey())) {
                problems.add(new Problem(shown, 1, 1, "model '" + model.getKey() + "' would build " + defaults.namespace() + "."
                        + model.getKey() + ", which a pipeline writes; rename the model or the pipeline's table"));
            }
            List<TableRef> references = new ArrayList<>();
            for (SqlReferences.Reference ref : SqlReferences.of(model.getValue())) {
                dag.resolve(ref, shown, sql.keySet(), produced, streams).ifPresent(references::add);
            }
            models.put(model.getKey(), new ModelSpec(model.getKey(), paths.get(model.getKey()), model.getValue(),
                    configs.get(model.getKey()), references));
        }
        dag.checkCycles(models);
        return models;
    }

    /** One SELECT (or WITH ... SELECT), with known variables only. */
    private void checkBody(String text, String shown, String name) {
        int line = 1;
        int lineStart = 0;
        Matcher variable = VARIABLE.matcher(text);
        while (variable.find()) {
            while (text.indexOf('\n', lineStart) >= 0 && text.indexOf('\n', lineStart) < variable.start()) {
                lineStart = text.indexOf('\n', lineStart) + 1;
                line++;
            }
            if (!VARIABLES.contains(variable.group(1))) {
                problems.add(new Problem(shown, line, variable.start() - lineStart + 1, "unknown variable {{ " + variable.group(1)
                        + " }}; a model knows " + new TreeSet<>(VARIABLES) + " (the time range a build covers)"));
            }
        }
        String code = text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("--[^\n]*", " ").strip();
        if (code.isEmpty()) {
            problems.add(new Problem(shown, 1, 1, "model '" + name + "' has no SQL; write one SELECT whose result becomes the "
                    + "table " + defaults.namespace() + "." + name));
            return;
        }
        String first = code.split("[\\s(]+", 2)[0].toLowerCase(Locale.ROOT);
        if (!first.equals("select") && !first.equals("with") && !first.equals("values")) {
            int at = text.indexOf(code.substring(0, Math.min(code.length(), 10)));
            int l = 1 + (int) text.substring(0, Math.max(0, at)).chars().filter(c -> c == '\n').count();
            int c = at - text.lastIndexOf('\n', at - 1);
            problems.add(new Problem(shown, l, c, "a model is one SELECT (or WITH ... SELECT) whose result becomes the table "
                    + defaults.namespace() + "." + name + "; Watershed writes the table, so leave out INSERT and CREATE"));
            return;
        }
        String withoutTrailing = code.endsWith(";") ? code.substring(0, code.length() - 1) : code;
        if (withoutTrailing.replaceAll("'(?:[^']|'')*'", "''").contains(";")) {
            problems.add(new Problem(shown, 1, 1, "model '" + name + "' has more than one statement; a model is one SELECT"));
        }
    }

    /** The regular files in {@code dir}, sorted. */
    static List<Path> regularFiles(Path dir) {
        try (Stream<Path> list = Files.list(dir)) {
            return list.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list " + dir, e);
        }
    }
}
