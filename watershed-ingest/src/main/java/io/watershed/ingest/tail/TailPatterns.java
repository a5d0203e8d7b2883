package io.watershed.ingest.tail;

import io.watershed.spi.SourceSpec;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Which files a file source reads: those matching one of its {@code paths} globs and none of its {@code exclude}
 * globs. Each glob has a fixed directory (its segments before the first wildcard); a match is read only if it lies
 * below that directory after symlinks are resolved, which the caller checks against {@link Match#realBase()}.
 */
final class TailPatterns {
    private final List<Glob> globs = new ArrayList<>();
    private final List<PathMatcher> excludes = new ArrayList<>();

    record Glob(String pattern, Path base, PathMatcher matcher, int depth) {}

    /** A file a glob matched, and the real path of the glob's fixed directory. */
    record Match(Path path, Path realBase) {}

    TailPatterns(SourceSpec.FileTail spec) {
        for (String pattern : spec.paths()) {
            globs.add(glob(pattern));
        }
        for (String pattern : spec.exclude()) {
            excludes.add(FileSystems.getDefault().getPathMatcher("glob:" + pattern));
        }
    }

    /** The files the globs match now, not excluded; a glob whose directory does not exist matches nothing. */
    List<Match> matches() throws IOException {
        List<Match> matches = new ArrayList<>();
        for (Glob glob : globs) {
            if (!Files.isDirectory(glob.base)) {
                continue;
            }
            Path realBase = glob.base.toRealPath();
            Files.walkFileTree(glob.base, Set.of(), glob.depth, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (glob.matcher.matches(file) && !excluded(file)) {
                        matches.add(new Match(file, realBase));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE; // vanished or unreadable meanwhile
                }
            });
        }
        return matches;
    }

    boolean excluded(Path file) {
        for (PathMatcher exclude : excludes) {
            if (exclude.matches(file) || exclude.matches(file.getFileName())) {
                return true;
            }
        }
        return false;
    }

    /** Whether the directory lies, after symlinks are resolved, below one glob's fixed directory. */
    boolean withinBases(Path directory) throws IOException {
        Path real = directory.toRealPath();
        for (Glob glob : globs) {
            if (Files.isDirectory(glob.base) && real.startsWith(glob.base.toRealPath())) {
                return true;
            }
        }
        return false;
    }

    /** The pattern's fixed directory (the segments before the first with a wildcard) and how deep matches can be. */
    static Glob glob(String pattern) {
        Path path = Path.of(pattern);
        Path base = path.getRoot() == null ? Path.of("") : path.getRoot();
        int i = 0;
        for (; i < path.getNameCount() - 1; i++) {
            String segment = path.getName(i).toString();
            if (segment.matches(".*[*?\\[{].*")) {
                break;
            }
            base = base.resolve(segment);
        }
        int depth = pattern.contains("**") ? Integer.MAX_VALUE : path.getNameCount() - i;
        return new Glob(pattern, base, FileSystems.getDefault().getPathMatcher("glob:" + pattern), depth);
    }
}
