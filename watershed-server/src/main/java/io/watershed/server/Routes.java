package io.watershed.server;

import io.javalin.Javalin;

/**
 * One area of the HTTP API (streams, pipelines, models, access, ...): a handler class that receives the parts it
 * needs in its constructor and registers its endpoints on the app. {@link HttpApi} registers each in turn, after
 * {@link Authorization} and before the error mapping; who may call an endpoint is said in {@link Authorization}.
 */
interface Routes {
    void register(Javalin app);
}
