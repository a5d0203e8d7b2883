package io.watershed.stream;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.WatershedException;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * A model's SQL as a build runs it and what it makes: the query with its time range variables as literals, positions
 * in that query mapped back to the model's file, and the Iceberg schema and partitioning of the table its result
 * fills. Shared by builds ({@link FlinkModelBuilder}) and offline planning ({@link ModelPlanner}).
 */
final class ModelSql {
    private static final Pattern VARIABLE = Pattern.compile("\\{\\{\\s*([a-z_]+)\\s*}}");
    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    private ModelSql() {}

    /** The model's query for one range, as Flink plans it: Flink reserves RAW (a type) and MODELS (SHOW MODELS), so the lake's namespaces are quoted. */
    static SqlScript.Statement statement(ModelSpec model, LocalDateTime start, LocalDateTime end) {
        return new SqlScript.Statement(render(model.sql(), start, end), 1, 1)
                .withQuoted(new HashSet<>(List.of("raw", "models", model.config().namespace())));
    }

    /**
     * The model's SQL with its variables as literals: {@code {{ start }}}/{@code {{ end }}} as TIMESTAMP,
     * {@code {{ start_date }}}/{@code {{ end_date }}} as DATE; a trailing semicolon dropped.
     */
    static String render(String sql, LocalDateTime start, LocalDateTime end) {
        Matcher m = VARIABLE.matcher(sql);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(literal(m, start, end)));
        }
        m.appendTail(out);
        return withoutFinalSemicolon(out.toString());
    }

    private static String literal(Matcher variable, LocalDateTime start, LocalDateTime end) {
        return switch (variable.group(1)) {
            case "start" -> "TIMESTAMP '" + TIMESTAMP.format(start) + "'";
            case "end" -> "TIMESTAMP '" + TIMESTAMP.format(end) + "'";
            case "start_date" -> "DATE '" + start.toLocalDate() + "'";
            case "end_date" -> "DATE '" + end.toLocalDate() + "'";
            default -> variable.group();
        };
    }

    /**
     * A column of the rendered SQL as a column of the model's file: the literals that replaced {@code {{ ... }}}
     * earlier on the line are longer than the variables; a column inside one is the variable's.
     */
    static int fileColumn(String sql, int line, int renderedColumn, LocalDateTime start, LocalDateTime end) {
        String[] lines = sql.split("\n", -1);
        if (line < 1 || line > lines.length) {
            return renderedColumn;
        }
        Matcher m = VARIABLE.matcher(lines[line - 1]);
        int shift = 0;
        while (m.find()) {
            int literalLength = literal(m, start, end).length();
            int renderedStart = m.start() + shift;
            if (renderedColumn - 1 < renderedStart) {
                break;
            }
            if (renderedColumn - 1 < renderedStart + literalLength) {
                return m.start() + 1;
            }
            shift += literalLength - (m.end() - m.start());
        }
        return renderedColumn - shift;
    }

    /** A final ';' (blank and comment lines after it allowed) ends the statement; Flink's sqlQuery takes none. */
    static String withoutFinalSemicolon(String sql) {
        String[] lines = sql.split("\n", -1);
        int last = lines.length - 1;
        while (last > 0 && (lines[last].isBlank() || lines[last].strip().startsWith("--"))) {
            last--;
        }
        Matcher end = Pattern.compile(";\\s*(--.*)?$").matcher(lines[last]);
        if (!end.find()) {
            return sql;
        }
        lines[last] = lines[last].substring(0, end.start());
        return String.join("\n", java.util.Arrays.copyOf(lines, last + 1));
    }

    /** The planner's error at its place in the model's file ({@code models/x.sql:line:col: }), with what a missing table means. */
    static String located(String file, SqlScript.Statement statement, RuntimeException e, String sql, LocalDateTime start,
            LocalDateTime end) {
        String message = FlinkErrors.rootMessage(e);
        FlinkErrors.Position position = FlinkErrors.position(e);
        if (FlinkErrors.MISSING_TABLE.matcher(message).find()) {
            message += "; a model reads lake tables as <namespace>.<table> (raw.<stream>, tables pipelines write) and other "
                    + "models by name, and a table exists once something has written it";
        }
        return file + ":" + position.line() + ":" + fileColumn(sql, position.line(),
                statement.fileColumn(position.line(), position.column()), start, end) + ": " + FlinkErrors.parserMessage(message);
    }

    /** The partitioning of the model's table: by its partition_by column at its grain, or none. */
    static PartitionSpec partitionSpec(ModelSpec model, String file, Schema schema) {
        Optional<String> column = model.config().partitionBy();
        if (column.isEmpty()) {
            return PartitionSpec.unpartitioned();
        }
        Types.NestedField field = schema.findField(column.get());
        if (field == null) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, file + ": partition_by '" + column.get() + "' is not a column "
                    + "of the model's result " + schema.columns().stream().map(Types.NestedField::name).toList());
        }
        Type.TypeID type = field.type().typeId();
        if (type != Type.TypeID.DATE && type != Type.TypeID.TIMESTAMP) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, file + ": partition_by '" + column.get() + "' has type "
                    + field.type() + "; it must be a DATE or TIMESTAMP column");
        }
        PartitionSpec.Builder builder = PartitionSpec.builderFor(schema);
        switch (model.config().grain()) {
            case HOUR -> {
                if (type == Type.TypeID.DATE) {
                    throw new WatershedException(ErrorCode.INVALID_CONFIG, file + ": grain hour needs a TIMESTAMP partition_by "
                            + "column; '" + column.get() + "' is a DATE");
                }
                builder.hour(column.get());
            }
            case DAY -> {
                if (type == Type.TypeID.DATE) {
                    builder.identity(column.get()); // a date is its day: day=2026-11-01
                } else {
                    builder.day(column.get());
                }
            }
            case MONTH -> builder.month(column.get());
        }
        return builder.build();
    }

    /** Every column nullable: a later build's result may have nulls where this one had none. */
    static Schema optional(Schema schema) {
        List<Types.NestedField> fields = new ArrayList<>();
        for (Types.NestedField f : schema.columns()) {
            fields.add(Types.NestedField.optional(f.fieldId(), f.name(), f.type(), f.doc()));
        }
        return new Schema(fields);
    }
}
