package io.watershed.spi;

import java.nio.file.Path;

/**
 * A continuous pipeline: the Flink SQL in {@code pipelines/<name>.sql}.
 *
 * @param name the file's name without {@code .sql}; the same rule as stream names
 * @param file the file, for error positions
 * @param sql its text
 */
public record PipelineSpec(String name, Path file, String sql) {}
