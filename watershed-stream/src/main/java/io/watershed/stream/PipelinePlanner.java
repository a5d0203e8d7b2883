package io.watershed.stream;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;

/**
 * Turns one pipeline's file into the statement set of its job: registers the tables it sees ({@link PipelineTables}),
 * runs its {@code SET}, {@code CREATE TEMPORARY VIEW} and {@code CREATE TEMPORARY FUNCTION} statements, and adds an
 * insert for each {@code INSERT INTO} and {@code CREATE LIVE VIEW}. The same for a running platform and for planning
 * offline; a mistake is a {@link Pipeline.PipelineException} at its place in the file.
 */
final class PipelinePlanner {
    private static final Pattern LIVE_VIEW = Pattern.compile(
            "(?is)CREATE\\s+LIVE\\s+VIEW\\s+((?:`[^`]+`|[\\w]+)(?:\\s*\\.\\s*(?:`[^`]+`|[\\w]+))?)\\s+AS\\s+(.*)");

    private final PipelineTables tables;
    private final List<java.nio.file.Path> functionJars;

    PipelinePlanner(PipelineTables tables, List<java.nio.file.Path> functionJars) {
        this.tables = tables;
        this.functionJars = functionJars;
    }

    /**
     * The pipeline's inserts, and the statement that writes each output (by output name, for errors of the whole job).
     */
    record Plan(StatementSet inserts, Map<String, SqlScript.Statement> targets) {}

    /** Plans the pipeline in {@code env}, adding its outputs to {@code pipeline.outputs}. */
    Plan plan(TableEnvironment env, Pipeline pipeline) {
        tables.registerCatalog(env);
        FunctionJars.add(env, functionJars);
        tables.registerStreams(env, pipeline);
        List<SqlScript.Statement> statements = SqlScript.split(pipeline.spec.sql()).stream()
                .map(SqlScript.Statement::withRawQuoted).toList();
        tables.registerLookups(env, statements);
        StatementSet inserts = env.createStatementSet();
        Map<String, SqlScript.Statement> targets = new HashMap<>();
        for (SqlScript.Statement statement : statements) {
            try {
                Matcher live = LIVE_VIEW.matcher(statement.text());
                Matcher insert = Pipeline.INSERT.matcher(statement.text());
                if (live.matches()) {
                    String view = tables.prepareLiveView(env, pipeline, statement, live.group(1), placed(statement, live.start(2)));
                    pipeline.outputs.add(PipelineTables.LIVE + "." + view);
                    targets.put(PipelineTables.LIVE + "." + view, statement);
                    inserts.addInsertSql("INSERT INTO " + tables.liveTable(view) + " " + live.group(2));
                } else if (insert.matches()) {
                    String target = tables.prepareTarget(env, pipeline, statement, insert.group(1), placed(statement, insert.start(2)));
                    pipeline.outputs.add(target);
                    targets.put(target, statement);
                    String query = placed(statement, insert.start(2));
                    for (String sql : tables.inserts(target, statement.text(), query)) {
                        inserts.addInsertSql(sql);
                    }
                } else {
                    env.executeSql(statement.text());
                }
            } catch (Pipeline.PipelineException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new Pipeline.PipelineException(FlinkErrors.located(pipeline.file(), statement, e), e);
            }
        }
        if (targets.isEmpty()) {
            throw new Pipeline.PipelineException(pipeline.spec.file().getFileName() + ":1:1: pipeline '" + pipeline.name()
                    + "' has no INSERT INTO or CREATE LIVE VIEW statement, so it has no output");
        }
        return new Plan(inserts, targets);
    }

    /** The statement's query from {@code start} on, in its place (what comes before blanked), so the planner's positions hold. */
    private static String placed(SqlScript.Statement statement, int start) {
        return statement.text().substring(0, start).replaceAll("[^\n]", " ") + statement.text().substring(start);
    }
}
