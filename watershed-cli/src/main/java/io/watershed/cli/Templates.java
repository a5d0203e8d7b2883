package io.watershed.cli;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The project templates {@code watershed init} writes and {@code watershed demo} runs, kept as resources under
 * {@code /templates/<name>/}. Each template lists its files in {@code files}: one per line, with the name it is
 * written as when that differs (a {@code .gitignore} cannot be a resource name Maven keeps), {@code *.sh} written
 * executable. {@code {{name}}} in a file becomes the project's name.
 */
final class Templates {
    /** The templates there are, the default first. */
    static final List<String> NAMES = List.of("clickstream", "empty");

    private Templates() {}

    /** One file of a template: its resource, and where it goes in the project folder. */
    record TemplateFile(String resource, String target) {}

    static List<TemplateFile> files(String template) {
        if (!NAMES.contains(template)) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "No template '" + template + "'; the templates are "
                    + String.join(", ", NAMES));
        }
        List<TemplateFile> files = new ArrayList<>();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(open(template, "files"), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                line = line.strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] parts = line.split("\\s+");
                files.add(new TemplateFile(parts[0], parts.length > 1 ? parts[1] : parts[0]));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    /** The files of the template that already exist in {@code directory}. */
    static List<Path> existing(String template, Path directory) {
        return files(template).stream().map(f -> directory.resolve(f.target())).filter(Files::exists).toList();
    }

    /**
     * Writes the template's files into {@code directory}, leaving any that exist as they are.
     *
     * @return the files written
     */
    static List<Path> write(String template, Path directory, String projectName) {
        List<Path> written = new ArrayList<>();
        try {
            for (TemplateFile file : files(template)) {
                Path target = directory.resolve(file.target());
                if (Files.exists(target)) {
                    continue;
                }
                Files.createDirectories(target.getParent());
                String text;
                try (InputStream in = open(template, file.resource())) {
                    text = new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("{{name}}", projectName);
                }
                // never over a file, even one that appeared since the check above (or a link pointing elsewhere)
                Files.writeString(target, text, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE_NEW);
                if (file.target().endsWith(".sh")) {
                    Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
                }
                written.add(target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the project to " + directory + ": " + e.getMessage(), e);
        }
        return written;
    }

    /** A name given with {@code --name}, which goes into watershed.yaml as written: the same characters as a folder's. */
    static String checkedName(String name) {
        if (!name.matches("[a-z0-9][a-z0-9_-]{0,62}")) {
            throw new io.watershed.spi.WatershedException(io.watershed.spi.ErrorCode.INVALID_INPUT, "--name '" + name
                    + "' is not a project name: use lower case letters, digits, '-' and '_', starting with a letter or "
                    + "digit, at most 63 (for example --name " + projectName(Path.of("/", name.replace('/', '-'))) + ")");
        }
        return name;
    }

    /** A project name made of a folder's name: lower case letters, digits, '-' and '_'. */
    static String projectName(Path directory) {
        Path name = directory.toAbsolutePath().normalize().getFileName();
        String cleaned = name == null ? "" : name.toString().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_-]+", "-")
                .replaceAll("^-+|-+$", "");
        return cleaned.isEmpty() ? "watershed" : cleaned;
    }

    private static InputStream open(String template, String resource) {
        InputStream in = Templates.class.getResourceAsStream("/templates/" + template + "/" + resource);
        if (in == null) {
            throw new IllegalStateException("The distribution lacks /templates/" + template + "/" + resource);
        }
        return in;
    }
}
