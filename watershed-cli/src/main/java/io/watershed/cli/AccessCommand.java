package io.watershed.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code watershed access}: who may do what. Users and roles, grants on streams, tables, pipelines and models, and
 * tokens (shown once when issued). Everything but {@code whoami} needs the admin role.
 */
@Command(name = "access", mixinStandardHelpOptions = true, description = "Users, roles, grants and tokens.",
        subcommands = {AccessCommand.WhoAmI.class, AccessCommand.Users.class, AccessCommand.UserAdd.class, AccessCommand.UserRemove.class,
                AccessCommand.Roles.class, AccessCommand.RoleAdd.class, AccessCommand.Assign.class, AccessCommand.Unassign.class,
                AccessCommand.GrantCommand.class, AccessCommand.Revoke.class, AccessCommand.Token.class})
final class AccessCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    private static JsonNode api(ServerOptions server, String method, String path, Object body) {
        return ModelsCommands.request(new ApiClient(server), method, path, body);
    }

    private static String grants(JsonNode grants) {
        List<String> out = new ArrayList<>();
        for (JsonNode g : grants) {
            String columns = g.path("columns").isEmpty() ? "" : " (" + String.join(", ", texts(g.path("columns"))) + ")";
            out.add(g.path("privilege").asText() + " " + g.path("object").asText() + columns);
        }
        return out.isEmpty() ? "(none)" : String.join("; ", out);
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Command(name = "whoami", description = "The user, roles and grants of the token the CLI sends.")
    static final class WhoAmI implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Override
        public Integer call() {
            JsonNode me = api(server, "GET", "/v1/whoami", null);
            System.out.println("user   " + me.path("user").asText() + (me.path("admin").asBoolean() ? "  (admin)" : ""));
            System.out.println("token  " + me.path("token").asText() + (me.path("stream").isNull() ? ""
                    : "  (may only write stream " + me.path("stream").asText() + ")"));
            System.out.println("roles  " + String.join(", ", texts(me.path("roles"))));
            System.out.println("grants " + grants(me.path("grants")));
            return 0;
        }
    }

    @Command(name = "users", description = "List users and their roles.")
    static final class Users implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Override
        public Integer call() {
            for (JsonNode u : api(server, "GET", "/v1/access/users", null).path("users")) {
                System.out.printf("%-24s %-8s %s%n", u.path("name").asText(), u.path("kind").asText(), String.join(", ", texts(u.path("roles"))));
            }
            return 0;
        }
    }

    @Command(name = "user-add", description = "Create a user (a person, or --service for a program).")
    static final class UserAdd implements Callable<Integer> {
        @Mixin
        ServerOptions server;
        @Parameters(index = "0", paramLabel = "USER")
        String name;
        @Option(names = "--service", description = "A program rather than a person.")
        boolean service;

        @Override
        public Integer call() {
            api(server, "POST", "/v1/access/users", Map.of("name", name, "kind", service ? "service" : "person"));
            System.out.println("created user " + name);
            return 0;
        }
    }

    @Command(name = "user-rm", description = "Delete a user and revoke all their tokens.")
    static final class UserRemove implements Callable<Integer> {
        @Mixin
        ServerOptions server;
        @Parameters(index = "0", paramLabel = "USER")
        String name;

        @Override
        public Integer call() {
            api(server, "DELETE", "/v1/access/users/" + name, null);
            System.out.println("deleted user " + name + " and revoked their tokens");
            return 0;
        }
    }

    @Command(name = "roles", description = "List roles and their grants.")
    static final class Roles implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Override
        public Integer call() {
            for (JsonNode r : api(server, "GET", "/v1/access/roles", null).path("roles")) {
                System.out.printf("%-24s %s%n", r.path("name").asText(), grants(r.path("grants")));
            }
            return 0;
        }
    }

    @Command(name = "role-add", description = "Create a role.")
    static final class RoleAdd implements Callable<Integer> {
        @Mixin
        ServerOptions server;
        @Parameters(index = "0", paramLabel = "ROLE")
        String name;

        @Override
        public Integer call() {
            api(server, "POST", "/v1/access/roles", Map.of("name", name));
            System.out.println("created role " + name);
            return 0;
        }
    }

    @Command(name = "assign", description = "Give a user a role.")
    static final class Assign implements Callable<Integer> {
        @Mixin
        ServerOptions server;
        @Parameters(index = "0", paramLabel = "USER")
        String user;
        @Parameters(index = "1", paramLabel = "ROLE")
        String role;

        @Override
        public Integer call() {
            api(server, "POST", "/v1/access/users/" + user + "/roles", Map.of("role", role));
            System.out.println(user + " has role " + role);
            return 0;
        }
    }

    @Command(name = "unassign", description = "Take a role from a user.")
    static final class Unassign implements Callable<Integer> {
        @Mixin
        ServerOptions server;
        @Parameters(index = "0", paramLabel = "USER")
        String user;
        @Parameters(index = "1", paramLabel = "ROLE")
        String role;

        @Override
        public Integer call() {
            api(server, "DELETE", "/v1/access/users/" + user + "/roles/" + role, null);
            System.out.println(user + " no longer has role " + role);
            return 0;
        }
    }

    @Command(name = "grant", description = "Grant a role a privilege: read table:raw.clicks [--columns a,b], write stream:clicks, "
            + "run model:daily_top, change pipeline:pages, admin '*'. A name may end in * (table:raw.*).")
    static final class GrantCommand implements Callable<Integer> {
        @Mixin
        ServerOptions server;
        @Parameters(index = "0", paramLabel = "ROLE")
        String role;
        @Parameters(index = "1", paramLabel = "PRIVILEGE")
        String privilege;
        @Parameters(index = "2", paramLabel = "OBJECT")
        String object;
        @Option(names = "--columns", split = ",", paramLabel = "COLUMN", description = "For read: only these columns.")
        List<String> columns = new ArrayList<>();

        @Override
        public Integer call() {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("role", role);
            body.put("privilege", privilege);
            body.put("object", object);
            body.put("columns", columns);
            api(server, "POST", "/v1/access/grants", body);
            System.out.println("granted " + privilege + " on " + object + (columns.isEmpty() ? "" : " (" + String.join(", ", columns) + ")")
                    + " to role " + role);
            return 0;
        }
    }

    @Command(name = "revoke", description = "Revoke a grant from a role.")
    static final class Revoke implements Callable<Integer> {
        @Mixin
        ServerOptions server;
        @Parameters(index = "0", paramLabel = "ROLE")
        String role;
        @Parameters(index = "1", paramLabel = "PRIVILEGE")
        String privilege;
        @Parameters(index = "2", paramLabel = "OBJECT")
        String object;

        @Override
        public Integer call() {
            JsonNode answer = api(server, "POST", "/v1/access/revoke", Map.of("role", role, "privilege", privilege, "object", object));
            System.out.println(answer.path("revoked").asBoolean() ? "revoked " + privilege + " on " + object + " from role " + role
                    : "role " + role + " had no " + privilege + " grant on " + object);
            return 0;
        }
    }

    @Command(name = "token", description = "Issue, list and revoke tokens.", mixinStandardHelpOptions = true,
            subcommands = {Token.Create.class, Token.ListTokens.class, Token.RevokeToken.class})
    static final class Token implements Runnable {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(spec.commandLine().getOut());
        }

        @Command(name = "create", description = "Issue a token for a user; it is printed once.")
        static final class Create implements Callable<Integer> {
            @Mixin
            ServerOptions server;
            @Parameters(index = "0", paramLabel = "USER")
            String user;
            @Option(names = "--name", description = "What the token is for.")
            String name = "";
            @Option(names = "--expires", paramLabel = "DURATION", description = "Expire after this long, e.g. 12h or 30d (default: never).")
            String expires;
            @Option(names = "--stream", paramLabel = "STREAM", description = "Only write events to this stream.")
            String stream;
            @Option(names = "--rate", paramLabel = "N", description = "Requests per second (default: auth.token_rate_limit).")
            Integer rate;

            @Override
            public Integer call() {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("user", user);
                body.put("name", name);
                body.put("expires_in", expires);
                body.put("stream", stream);
                body.put("rate", rate);
                JsonNode t = AccessCommand.api(server, "POST", "/v1/access/tokens", body);
                System.err.println("token " + t.path("id").asText() + " for " + user + (t.path("expires_at").isNull() ? ""
                        : ", expires " + t.path("expires_at").asText()) + (t.path("stream").isNull() ? ""
                        : ", may only write stream " + t.path("stream").asText()) + ". Shown once; store it now:");
                System.out.println(t.path("token").asText());
                return 0;
            }
        }

        @Command(name = "list", description = "List tokens (never their secrets).")
        static final class ListTokens implements Callable<Integer> {
            @Mixin
            ServerOptions server;

            @Override
            public Integer call() {
                System.out.printf("%-22s %-16s %-18s %-8s %-12s %s%n", "ID", "USER", "NAME", "ACTIVE", "STREAM", "EXPIRES");
                for (JsonNode t : AccessCommand.api(server, "GET", "/v1/access/tokens", null).path("tokens")) {
                    System.out.printf("%-22s %-16s %-18s %-8s %-12s %s%n", t.path("id").asText(), t.path("user").asText(),
                            t.path("name").asText(), t.path("active").asBoolean() ? "yes" : "no", t.path("stream").asText("-"),
                            t.path("expires_at").asText("never"));
                }
                return 0;
            }
        }

        @Command(name = "revoke", description = "Revoke a token at once.")
        static final class RevokeToken implements Callable<Integer> {
            @Mixin
            ServerOptions server;
            @Parameters(index = "0", paramLabel = "ID")
            String id;

            @Override
            public Integer call() {
                AccessCommand.api(server, "DELETE", "/v1/access/tokens/" + id, null);
                System.out.println("revoked " + id);
                return 0;
            }
        }
    }
}
