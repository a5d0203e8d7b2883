package io.watershed.server;

import io.javalin.Javalin;
import java.util.Map;

/**
 * {@code GET /v1/alerts}, what needs someone's attention now ({@link Alerts}), each with what to do about it. Streams of
 * the platform's own show to admins only.
 */
final class AlertsApi implements Routes {
    private final Alerts alerts;

    AlertsApi(Alerts alerts) {
        this.alerts = alerts;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/alerts", ctx -> ctx.json(Map.of("alerts", alerts.current(Authorization.principal(ctx).admin()).stream()
                .map(Alerts.Alert::json).toList())));
    }
}
