package io.watershed.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.watershed.ml.Feature;
import io.watershed.ml.MlService;
import io.watershed.ml.ModelVersion;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.MlSpec;
import io.watershed.spi.WatershedException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Supplier;

/**
 * The ml models' HTTP API: the models with their production versions, a model's versions, training a version now,
 * promoting one, and scoring rows with the production version or a named one.
 */
final class MlApi implements Routes {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Optional<MlService> ml;
    private final Supplier<Map<String, Instant>> nextTrainings;

    /**
     * @param ml the project's ml models, unless it has none
     * @param nextTrainings when each model with a schedule trains next
     */
    MlApi(Optional<MlService> ml, Supplier<Map<String, Instant>> nextTrainings) {
        this.ml = ml;
        this.nextTrainings = nextTrainings;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/ml", ctx -> {
            List<Map<String, Object>> out = new ArrayList<>();
            Map<String, Instant> next = nextTrainings.get();
            for (MlSpec spec : ml.map(MlService::models).orElse(List.of())) {
                Map<String, Object> model = modelJson(spec, ml.get().production(spec.name()),
                        ml.get().versions(spec.name()).stream().findFirst());
                model.put("next_training_at", Optional.ofNullable(next.get(spec.name())).map(Instant::toString).orElse(null));
                out.add(model);
            }
            ctx.json(Map.of("models", out));
        });
        app.get("/v1/ml/{name}/versions", ctx -> {
            List<Map<String, Object>> out = new ArrayList<>();
            for (ModelVersion version : ml().versions(ctx.pathParam("name"))) {
                out.add(versionJson(version));
            }
            ctx.json(Map.of("versions", out));
        });
        app.post("/v1/ml/{name}/train", ctx -> {
            String name = ctx.pathParam("name");
            AuditLog.note(ctx, "ml.train", "ml:" + name, null);
            ctx.status(201).json(versionJson(ml().train(name)));
        });
        app.post("/v1/ml/{name}/versions/{version}/promote", ctx -> {
            String name = ctx.pathParam("name");
            int version = version(ctx.pathParam("version"), "promote ml:" + name);
            AuditLog.note(ctx, "ml.promote", "ml:" + name, "version " + version);
            ctx.json(versionJson(ml().promote(name, version)));
        });
        app.post("/v1/ml/{name}/predict", this::predict);
    }

    private MlService ml() {
        return ml.orElseThrow(() -> new WatershedException(ErrorCode.UNKNOWN_MODEL, "Cannot find the ml model: the project has "
                + "none; add ml/<name>.yaml (a training query, a label and an objective) and start the platform again"));
    }

    private void predict(Context ctx) {
        String name = ctx.pathParam("name");
        String what = "Cannot score with ml:" + name + ": ";
        OptionalInt version = Optional.ofNullable(ctx.queryParam("version")).filter(v -> !v.isBlank())
                .map(v -> OptionalInt.of(version(v, "score with ml:" + name))).orElse(OptionalInt.empty());
        JsonNode body;
        try {
            body = JSON.readTree(ctx.bodyInputStream());
        } catch (Exception e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, what + "the body is not JSON; send {\"rows\": [{\"x1\": 1.5, ...}]}", e);
        }
        JsonNode rows = body == null ? null : body.get("rows");
        if (rows == null || !rows.isArray()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, what + "the body has no \"rows\" list; send {\"rows\": [{\"x1\": 1.5, ...}]}");
        }
        List<Map<String, Object>> input = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            JsonNode row = rows.get(i);
            if (!row.isObject()) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, what + "row " + (i + 1) + " is not a JSON object of feature names "
                        + "to values");
            }
            Map<String, Object> values = new LinkedHashMap<>();
            row.properties().forEach(f -> values.put(f.getKey(), value(f.getValue())));
            input.add(values);
        }
        MlService.Prediction prediction = ml().predict(name, version, input);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", name);
        out.put("version", prediction.version().version());
        out.put("stage", prediction.version().stage());
        out.put("predictions", prediction.scores());
        ctx.json(out);
    }

    /** A JSON value as scoring takes it: numbers and booleans as they are, null as missing, anything else as text. */
    private static Object value(JsonNode node) {
        if (node.isNull()) {
            return null;
        }
        if (node.isNumber()) {
            return node.numberValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        return node.isTextual() ? node.textValue() : node.toString();
    }

    private static int version(String text, String action) {
        try {
            return Integer.parseInt(text.strip().replaceFirst("^v", ""));
        } catch (NumberFormatException e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot " + action + ": version '" + text + "' is not a version "
                    + "number (1, 2, ...)");
        }
    }

    private static Map<String, Object> modelJson(MlSpec spec, Optional<ModelVersion> production, Optional<ModelVersion> latest) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", spec.name());
        m.put("algorithm", spec.algorithm());
        m.put("objective", spec.objective().key());
        m.put("label", spec.label());
        m.put("reads", spec.reads());
        m.put("metrics", spec.metrics());
        m.put("promote_if", spec.promoteIf().stream().map(MlSpec.Threshold::toString).toList());
        m.put("schedule", spec.schedule().orElse(null));
        m.put("description", spec.description().orElse(null));
        m.put("location", spec.location());
        m.put("latest_version", latest.map(ModelVersion::version).orElse(null));
        m.put("production", production.map(MlApi::versionJson).orElse(null));
        return m;
    }

    static Map<String, Object> versionJson(ModelVersion v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", v.model());
        m.put("version", v.version());
        m.put("stage", v.stage());
        m.put("created_at", v.createdAt().toString());
        m.put("stage_changed_at", v.stageChangedAt().toString());
        m.put("algorithm", v.algorithm());
        m.put("objective", v.objective());
        m.put("metrics", v.metrics());
        m.put("parameters", v.parameters());
        m.put("training_rows", v.trainingRows());
        m.put("test_rows", v.testRows());
        m.put("label", v.label());
        List<Map<String, Object>> features = new ArrayList<>();
        for (Feature f : v.features()) {
            Map<String, Object> feature = new LinkedHashMap<>();
            feature.put("name", f.name());
            feature.put("type", f.type());
            features.add(feature);
        }
        m.put("features", features);
        Map<String, String> snapshots = new LinkedHashMap<>();
        v.snapshots().forEach((table, id) -> snapshots.put(table, String.valueOf(id))); // 64-bit ids: text, or JavaScript rounds them
        m.put("snapshots", snapshots);
        m.put("artifact", v.artifact());
        m.put("sha256", v.sha256());
        m.put("training_ms", v.trainingMillis());
        m.put("sql", v.sql());
        return m;
    }
}
