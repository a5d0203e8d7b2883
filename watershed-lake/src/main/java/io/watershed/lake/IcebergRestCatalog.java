package io.watershed.lake;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.ReadScope;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.ContentFile;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.MetadataUpdate;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.UpdateRequirement;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.exceptions.BadRequestException;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.exceptions.CommitStateUnknownException;
import org.apache.iceberg.exceptions.ForbiddenException;
import org.apache.iceberg.exceptions.NamespaceNotEmptyException;
import org.apache.iceberg.exceptions.NoSuchIcebergTableException;
import org.apache.iceberg.exceptions.NoSuchNamespaceException;
import org.apache.iceberg.exceptions.NoSuchTableException;
import org.apache.iceberg.exceptions.NoSuchViewException;
import org.apache.iceberg.exceptions.NotAuthorizedException;
import org.apache.iceberg.exceptions.UnprocessableEntityException;
import org.apache.iceberg.exceptions.ValidationException;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.rest.CatalogHandlers;
import org.apache.iceberg.rest.Endpoint;
import org.apache.iceberg.rest.RESTSerializers;
import org.apache.iceberg.rest.RESTUtil;
import org.apache.iceberg.rest.requests.CreateNamespaceRequest;
import org.apache.iceberg.rest.requests.CreateTableRequest;
import org.apache.iceberg.rest.requests.RenameTableRequest;
import org.apache.iceberg.rest.requests.UpdateNamespacePropertiesRequest;
import org.apache.iceberg.rest.requests.UpdateTableRequest;
import org.apache.iceberg.rest.responses.ConfigResponse;
import org.apache.iceberg.rest.responses.ErrorResponse;
import org.apache.iceberg.rest.responses.ErrorResponseParser;
import org.apache.iceberg.rest.responses.ListNamespacesResponse;
import org.apache.iceberg.rest.responses.ListTablesResponse;
import org.apache.iceberg.shaded.com.fasterxml.jackson.annotation.JsonAutoDetect;
import org.apache.iceberg.shaded.com.fasterxml.jackson.annotation.PropertyAccessor;
import org.apache.iceberg.shaded.com.fasterxml.jackson.databind.DeserializationFeature;
import org.apache.iceberg.shaded.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.iceberg.shaded.com.fasterxml.jackson.databind.PropertyNamingStrategies;

/**
 * The lake as an Iceberg REST catalog (the Iceberg REST OpenAPI spec, {@code /v1/...} below the catalog's URI): config,
 * namespaces and tables, answered by Iceberg's own {@link CatalogHandlers} over the lake's JDBC catalog and written with
 * Iceberg's own serializers, so the wire format is the spec's. Errors are the spec's {@code ErrorResponse}.
 * <p>
 * What a caller may do is its {@link Caller}'s: a table loads when its user may read every column of it (an outside engine
 * reads the data files, which hold every column), or write it; it is listed when any of it is readable. The tables
 * Watershed writes itself ({@link ManagedTables}) are read-only here: a commit, drop or rename is refused with 403 and the
 * reason (a 409 would be retried by the client as a lost race). Tables outside engines create must stay inside the warehouse, and so must every file
 * their commits add, since Watershed's SQL reads those files as the server; delete files are refused, as that SQL reads
 * data files only. Commits run under the lake's commit lock and refresh the table's query view, so {@code /v1/sql} sees
 * them at once. Not served: views, multi-table transactions, register, scan planning, credential vending.
 */
public final class IcebergRestCatalog implements AutoCloseable {
    private static final ObjectMapper JSON = mapper();
    /** The endpoints served, as {@code GET /v1/config} announces them. */
    static final List<Endpoint> ENDPOINTS = List.of(Endpoint.V1_LIST_NAMESPACES, Endpoint.V1_LOAD_NAMESPACE,
            Endpoint.V1_NAMESPACE_EXISTS, Endpoint.V1_CREATE_NAMESPACE, Endpoint.V1_UPDATE_NAMESPACE, Endpoint.V1_DELETE_NAMESPACE,
            Endpoint.V1_LIST_TABLES, Endpoint.V1_LOAD_TABLE, Endpoint.V1_TABLE_EXISTS, Endpoint.V1_CREATE_TABLE,
            Endpoint.V1_UPDATE_TABLE, Endpoint.V1_DELETE_TABLE, Endpoint.V1_RENAME_TABLE, Endpoint.V1_REPORT_METRICS);
    /** Schemas of Watershed's SQL that are not lake namespaces: a namespace named so could not be queried. */
    private static final Set<String> RESERVED = Set.of("live", "streams", "sinks", "committed", "main", "information_schema",
            "pg_catalog", "system", "temp");

    private final IcebergLake lake;
    private final ManagedTables managed;
    private final Map<String, String> defaults;
    /** Reads the manifests of a commit before it is made (a create's too, which has no table yet to read them with). */
    private final FileIO io;

    /** Who calls: what it may read (its read grants) and which tables it may create, change and drop. */
    public interface Caller extends ReadScope {
        /**
         * Whether the caller may create, commit to, rename and drop {@code namespace.table}; {@code namespace.*} asks for the
         * whole namespace (create, drop, change its properties).
         */
        boolean mayWrite(String table);
    }

    /** The tables Watershed writes itself, and why: outside engines read them but never change them. */
    public interface ManagedTables {
        /** Why every table of {@code namespace} is Watershed's (the namespace is then closed to new tables too), or empty. */
        Optional<String> namespace(String namespace);

        /** Why {@code namespace.table} is Watershed's, or empty. */
        Optional<String> table(String namespace, String table);
    }

    /**
     * One answer: its status, its JSON (empty for 204), and what the audit log records of it.
     *
     * @param action e.g. {@code iceberg.table.load}
     * @param object e.g. {@code table:raw.clicks}, or null
     */
    public record Response(int status, String body, String action, String object) {}

    /**
     * @param defaults what {@code GET /v1/config} gives clients as defaults (the object store's endpoint and region for a
     *     warehouse on S3); never credentials
     */
    public IcebergRestCatalog(IcebergLake lake, ManagedTables managed, Map<String, String> defaults) {
        this.lake = lake;
        this.managed = managed;
        this.defaults = Map.copyOf(defaults);
        Map<String, String> properties = lake.catalogProperties();
        this.io = org.apache.iceberg.CatalogUtil.loadFileIO(properties.getOrDefault(CatalogProperties.FILE_IO_IMPL,
                "org.apache.iceberg.hadoop.HadoopFileIO"), properties, IcebergLake.hadoopConfiguration());
    }

    /** The object-store settings a client needs to read and write the files of a warehouse on S3; empty for a local one. */
    public static Map<String, String> clientDefaults(IcebergLake lake) {
        Map<String, String> out = new java.util.TreeMap<>();
        Map<String, String> p = lake.catalogProperties();
        for (String key : List.of("s3.endpoint", "s3.path-style-access", "client.region")) {
            if (lake.remote() && p.containsKey(key)) {
                out.put(key, p.get(key));
            }
        }
        return out;
    }

    /** Iceberg's REST object mapper, set up as its client's is. */
    private static ObjectMapper mapper() {
        ObjectMapper mapper = new ObjectMapper();
        mapper.setVisibility(PropertyAccessor.FIELD, JsonAutoDetect.Visibility.ANY);
        mapper.configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
        mapper.setPropertyNamingStrategy(new PropertyNamingStrategies.KebabCaseStrategy());
        RESTSerializers.registerAll(mapper);
        return mapper;
    }

    /**
     * Answers one request.
     *
     * @param method GET, HEAD, POST or DELETE
     * @param path the path below {@code /v1/}, still URL-encoded (a namespace's levels are joined by {@code %1F})
     * @param query the query parameters, decoded
     */
    public Response handle(String method, String path, Map<String, String> query, String body, Caller caller) {
        List<String> parts = List.of(path.split("/", -1));
        String[] audit = {"iceberg." + method.toLowerCase(Locale.ROOT), null};
        try {
            return route(method, parts, query, body, caller, audit);
        } catch (RuntimeException e) {
            return error(e, audit[0], audit[1]);
        }
    }

    private Response route(String method, List<String> parts, Map<String, String> query, String body, Caller caller, String[] audit) {
        int n = parts.size();
        if (n == 1 && parts.get(0).equals("config") && method.equals("GET")) {
            audit[0] = "iceberg.config";
            // a HashMap: the builder asks it for a null key, which Map.copyOf's maps refuse
            return ok(audit, ConfigResponse.builder().withDefaults(new java.util.HashMap<>(defaults)).withEndpoints(ENDPOINTS).build());
        }
        if (n >= 1 && parts.get(0).equals("namespaces")) {
            if (n == 1) {
                return method.equals("POST") ? createNamespace(read(body, CreateNamespaceRequest.class), caller, audit)
                        : method.equals("GET") ? listNamespaces(query.get("parent"), caller, audit) : unsupported(method, parts);
            }
            Namespace namespace = RESTUtil.decodeNamespace(parts.get(1));
            if (n == 2) {
                return switch (method) {
                    case "GET", "HEAD" -> loadNamespace(namespace, method.equals("HEAD"), caller, audit);
                    case "DELETE" -> dropNamespace(namespace, caller, audit);
                    default -> unsupported(method, parts);
                };
            }
            if (n == 3 && parts.get(2).equals("properties") && method.equals("POST")) {
                return updateNamespace(namespace, read(body, UpdateNamespacePropertiesRequest.class), caller, audit);
            }
            if (n >= 3 && parts.get(2).equals("tables")) {
                if (n == 3) {
                    return method.equals("POST") ? createTable(namespace, read(body, CreateTableRequest.class), caller, audit)
                            : method.equals("GET") ? listTables(namespace, caller, audit) : unsupported(method, parts);
                }
                TableIdentifier id = TableIdentifier.of(namespace, RESTUtil.decodeString(parts.get(3)));
                if (n == 4) {
                    return switch (method) {
                        case "GET", "HEAD" -> loadTable(id, method.equals("HEAD"), query.get("snapshots"), caller, audit);
                        case "POST" -> commit(id, read(body, UpdateTableRequest.class), caller, audit);
                        case "DELETE" -> dropTable(id, Boolean.parseBoolean(query.get("purgeRequested")), caller, audit);
                        default -> unsupported(method, parts);
                    };
                }
                if (n == 5 && parts.get(4).equals("metrics") && method.equals("POST")) {
                    audit[0] = "iceberg.table.metrics";
                    audit[1] = object(id);
                    return new Response(204, "", audit[0], audit[1]); // scan reports are not kept
                }
            }
        }
        if (n == 2 && parts.get(0).equals("tables") && parts.get(1).equals("rename") && method.equals("POST")) {
            return rename(read(body, RenameTableRequest.class), caller, audit);
        }
        return unsupported(method, parts);
    }

    private static Response unsupported(String method, List<String> parts) {
        String path = "/v1/" + String.join("/", parts);
        boolean known = parts.get(0).equals("views") || parts.size() >= 3 && parts.get(2).equals("views")
                || parts.get(0).equals("transactions") || parts.contains("register") || parts.contains("plan")
                || parts.contains("credentials");
        if (known) {
            throw new UnsupportedOperationException("Cannot " + method + " " + path + ": Watershed's catalog serves namespaces and "
                    + "tables only (no views, multi-table transactions, register, scan planning or credential vending)");
        }
        throw new WatershedException(ErrorCode.UNKNOWN_TABLE, "Cannot find " + method + " " + path
                + ": no such endpoint of the Iceberg REST catalog; see GET /v1/config for the endpoints served");
    }

    // ---- namespaces ----

    private Response listNamespaces(String parent, Caller caller, String[] audit) {
        audit[0] = "iceberg.namespace.list";
        if (parent != null && !parent.isEmpty()) {
            Namespace p = RESTUtil.namespaceFromQueryParam(parent);
            requireVisible(p);
            if (!lake.catalog().namespaceExists(p)) {
                throw new NoSuchNamespaceException("Namespace does not exist: %s", p);
            }
            return ok(audit, ListNamespacesResponse.builder().build()); // the lake's namespaces have one level
        }
        List<Namespace> out = new ArrayList<>();
        for (Namespace namespace : lake.catalog().listNamespaces()) {
            if (!IcebergLake.hidden(namespace) && visible(namespace, caller)) {
                out.add(namespace);
            }
        }
        return ok(audit, ListNamespacesResponse.builder().addAll(out).build());
    }

    /** Whether the caller sees a namespace: it may write it, or read a table of it. */
    private boolean visible(Namespace namespace, Caller caller) {
        if (caller.unrestricted() || caller.mayWrite(namespace + ".*")) {
            return true;
        }
        return lake.catalog().listTables(namespace).stream().anyMatch(id -> caller.columns(name(id)).isPresent());
    }

    private Response loadNamespace(Namespace namespace, boolean head, Caller caller, String[] audit) {
        audit[0] = head ? "iceberg.namespace.exists" : "iceberg.namespace.load";
        audit[1] = "namespace:" + namespace;
        requireVisible(namespace);
        if (!visible(namespace, caller)) {
            throw new ForbiddenException("%s", "Cannot load namespace " + namespace + ": user '" + caller.user()
                    + "' may read no table of it");
        }
        if (head) {
            CatalogHandlers.namespaceExists(lake.catalog(), namespace);
            return noContent(audit);
        }
        return ok(audit, CatalogHandlers.loadNamespace(lake.catalog(), namespace));
    }

    private Response createNamespace(CreateNamespaceRequest request, Caller caller, String[] audit) {
        request.validate();
        Namespace namespace = request.namespace();
        audit[0] = "iceberg.namespace.create";
        audit[1] = "namespace:" + namespace;
        requireChangeable(namespace, caller, "create namespace");
        return ok(audit, lake.commit(() -> CatalogHandlers.createNamespace(lake.catalog(), request)));
    }

    private Response dropNamespace(Namespace namespace, Caller caller, String[] audit) {
        audit[0] = "iceberg.namespace.drop";
        audit[1] = "namespace:" + namespace;
        requireVisible(namespace);
        requireChangeable(namespace, caller, "drop namespace");
        lake.commit(() -> {
            CatalogHandlers.dropNamespace(lake.catalog(), namespace);
            return null;
        });
        return noContent(audit);
    }

    private Response updateNamespace(Namespace namespace, UpdateNamespacePropertiesRequest request, Caller caller, String[] audit) {
        request.validate();
        audit[0] = "iceberg.namespace.properties";
        audit[1] = "namespace:" + namespace;
        requireVisible(namespace);
        requireChangeable(namespace, caller, "change the properties of namespace");
        return ok(audit, lake.commit(() -> CatalogHandlers.updateNamespaceProperties(lake.catalog(), namespace, request)));
    }

    /** A namespace of the platform's bookkeeping does not exist for outside clients. */
    private static void requireVisible(Namespace namespace) {
        if (namespace.isEmpty() || IcebergLake.hidden(namespace)) {
            throw new NoSuchNamespaceException("Namespace does not exist: %s", namespace);
        }
    }

    /** Refuses a change to a namespace Watershed writes, a name its SQL cannot query, or one the caller may not write. */
    private void requireChangeable(Namespace namespace, Caller caller, String what) {
        String name = namespace.toString();
        if (namespace.length() != 1 || !StreamSpec.NAME.matcher(name).matches() || RESERVED.contains(name)) {
            throw new BadRequestException("Cannot %s '%s': a namespace of Watershed's lake has one level, named with %s, and none of %s",
                    what, name, StreamSpec.NAME_RULE, new TreeSet<>(RESERVED));
        }
        Optional<String> reason = managed.namespace(name);
        if (reason.isPresent()) {
            throw new ForbiddenException("%s", "Cannot " + what + " " + name + ": " + reason.get()
                    + "; outside engines read it but do not change it");
        }
        if (!caller.mayWrite(name + ".*")) {
            throw new ForbiddenException("%s", "Cannot " + what + " " + name + ": user '" + caller.user() + "' has no write grant "
                    + "on the whole namespace. An admin can grant it: watershed access grant <role> write table:" + name + ".*");
        }
    }

    // ---- tables ----

    private Response listTables(Namespace namespace, Caller caller, String[] audit) {
        audit[0] = "iceberg.table.list";
        audit[1] = "namespace:" + namespace;
        requireVisible(namespace);
        List<TableIdentifier> out = new ArrayList<>();
        for (TableIdentifier id : CatalogHandlers.listTables(lake.catalog(), namespace).identifiers()) {
            if (caller.columns(name(id)).isPresent() || caller.mayWrite(name(id))) {
                out.add(id);
            }
        }
        return ok(audit, ListTablesResponse.builder().addAll(out).build());
    }

    private Response loadTable(TableIdentifier id, boolean head, String snapshots, Caller caller, String[] audit) {
        audit[0] = head ? "iceberg.table.exists" : "iceberg.table.load";
        audit[1] = object(id);
        requireVisible(id.namespace());
        if (head) {
            CatalogHandlers.tableExists(lake.catalog(), id);
            if (caller.columns(name(id)).isEmpty() && !caller.mayWrite(name(id))) {
                throw forbiddenRead(id, caller);
            }
            return noContent(audit);
        }
        if (!lake.catalog().tableExists(id)) {
            throw new NoSuchTableException("Table does not exist: %s", id);
        }
        requireLoadable(id, caller);
        return ok(audit, snapshots == null ? CatalogHandlers.loadTable(lake.catalog(), id)
                : CatalogHandlers.loadTable(lake.catalog(), id,
                        org.apache.iceberg.rest.RESTCatalogProperties.SnapshotMode.valueOf(snapshots.toUpperCase(Locale.ROOT))));
    }

    /** A table loads when every column of it is readable (its data files hold them all), or the caller writes it. */
    private static void requireLoadable(TableIdentifier id, Caller caller) {
        Optional<Set<String>> columns = caller.columns(name(id));
        if (caller.mayWrite(name(id)) || columns.isPresent() && columns.get().isEmpty()) {
            return;
        }
        if (columns.isEmpty()) {
            throw forbiddenRead(id, caller);
        }
        throw new ForbiddenException("%s", "Cannot load table " + id + ": user '" + caller.user() + "' may read only the columns "
                + new TreeSet<>(columns.get()) + " of it, and its data files hold every column, so an outside engine would read "
                + "them all. Read those columns with Watershed's SQL (/v1/sql) instead, or ask an admin for a read grant on the "
                + "whole table");
    }

    private static ForbiddenException forbiddenRead(TableIdentifier id, Caller caller) {
        return new ForbiddenException("%s", "Cannot load table " + id + ": user '" + caller.user() + "' has no read grant for it. "
                + "An admin can grant it: watershed access grant <role> read table:" + name(id));
    }

    private Response createTable(Namespace namespace, CreateTableRequest request, Caller caller, String[] audit) {
        request.validate();
        TableIdentifier id = TableIdentifier.of(namespace, request.name());
        audit[0] = "iceberg.table.create";
        audit[1] = object(id);
        requireVisible(namespace);
        requireWritable(id, caller, "create table");
        if (request.location() != null) {
            requireInWarehouse(id, request.location(), "its location");
        }
        requirePaths(id, request.properties());
        if (request.stageCreate()) {
            return ok(audit, CatalogHandlers.stageTableCreate(lake.catalog(), namespace, request));
        }
        Object response = lake.commit(() -> CatalogHandlers.createTable(lake.catalog(), namespace, request));
        lake.refresh(id.namespace().toString(), id.name());
        return ok(audit, response);
    }

    private Response commit(TableIdentifier id, UpdateTableRequest request, Caller caller, String[] audit) {
        audit[0] = "iceberg.table.commit";
        audit[1] = object(id);
        requireVisible(id.namespace());
        Optional<String> reason = managedReason(id);
        if (reason.isPresent()) {
            // 403, not 409: a client retries a 409 as a lost race (for a minute with the raw tables' retry settings)
            throw new ForbiddenException("%s", "Cannot commit to table " + id + ": " + reason.get() + "; outside engines read it "
                    + "but do not change it. Write your own tables in another namespace (e.g. ext)");
        }
        boolean create = request.requirements().stream().anyMatch(r -> r instanceof UpdateRequirement.AssertTableDoesNotExist);
        requireWritable(id, caller, create ? "create table" : "commit to table");
        if (!create && !lake.catalog().tableExists(id)) {
            throw new NoSuchTableException("Table does not exist: %s", id);
        }
        for (MetadataUpdate update : request.updates()) {
            check(id, update);
        }
        Object response = lake.commit(() -> CatalogHandlers.updateTable(lake.catalog(), id, request));
        lake.refresh(id.namespace().toString(), id.name());
        return ok(audit, response);
    }

    /** What a commit may not do: move files outside the warehouse, or add delete files (Watershed's SQL reads data files only). */
    private void check(TableIdentifier id, MetadataUpdate update) {
        if (update instanceof MetadataUpdate.SetLocation location) {
            requireInWarehouse(id, location.location(), "its location");
        } else if (update instanceof MetadataUpdate.SetProperties properties) {
            requirePaths(id, properties.updated());
        } else if (update instanceof MetadataUpdate.AddSnapshot added) {
            Snapshot snapshot = added.snapshot();
            if (snapshot.manifestListLocation() == null) {
                throw new BadRequestException("Cannot commit to table %s: the snapshot has no manifest list", id);
            }
            requireInWarehouse(id, snapshot.manifestListLocation(), "its manifest list");
            for (ManifestFile manifest : snapshot.allManifests(io)) {
                requireInWarehouse(id, manifest.path(), "a manifest");
            }
            for (ContentFile<?> file : snapshot.addedDataFiles(io)) {
                requireInWarehouse(id, file.location(), "a data file");
            }
            if (snapshot.addedDeleteFiles(io).iterator().hasNext()) {
                throw new BadRequestException("Cannot commit to table %s: the snapshot adds delete files, and Watershed's SQL reads "
                        + "data files only; write with copy-on-write (write.delete.mode, write.update.mode, write.merge.mode = "
                        + "copy-on-write)", id);
            }
        }
    }

    /** Table properties that name where files go ({@code write.data.path}, {@code write.metadata.path}, ...). */
    private void requirePaths(TableIdentifier id, Map<String, String> properties) {
        properties.forEach((key, value) -> {
            if (key.endsWith(".path") || key.endsWith("location")) {
                requireInWarehouse(id, value, "property " + key);
            }
        });
    }

    private Response dropTable(TableIdentifier id, boolean purge, Caller caller, String[] audit) {
        audit[0] = "iceberg.table.drop";
        audit[1] = object(id);
        requireVisible(id.namespace());
        requireWritable(id, caller, "drop table");
        lake.commit(() -> {
            if (purge) {
                CatalogHandlers.purgeTable(lake.catalog(), id);
            } else {
                CatalogHandlers.dropTable(lake.catalog(), id);
            }
            return null;
        });
        lake.refresh(id.namespace().toString(), id.name());
        return noContent(audit);
    }

    private Response rename(RenameTableRequest request, Caller caller, String[] audit) {
        request.validate();
        audit[0] = "iceberg.table.rename";
        audit[1] = object(request.source()) + "," + object(request.destination());
        requireVisible(request.source().namespace());
        requireVisible(request.destination().namespace());
        if (!lake.catalog().tableExists(request.source())) {
            throw new NoSuchTableException("Table does not exist: %s", request.source());
        }
        if (!lake.catalog().namespaceExists(request.destination().namespace())) {
            throw new NoSuchNamespaceException("Namespace does not exist: %s", request.destination().namespace());
        }
        requireWritable(request.source(), caller, "rename table");
        requireWritable(request.destination(), caller, "rename a table to");
        lake.commit(() -> {
            CatalogHandlers.renameTable(lake.catalog(), request);
            return null;
        });
        lake.refresh(request.source().namespace().toString(), request.source().name());
        lake.refresh(request.destination().namespace().toString(), request.destination().name());
        return noContent(audit);
    }

    /** Refuses a change to a table Watershed writes (403, with the reason), or one the caller may not write. */
    private void requireWritable(TableIdentifier id, Caller caller, String what) {
        Optional<String> reason = managedReason(id);
        if (reason.isPresent()) {
            throw new ForbiddenException("%s", "Cannot " + what + " " + id + ": " + reason.get() + "; outside engines read it but "
                    + "do not change it. Write your own tables in another namespace (e.g. ext)");
        }
        if (id.namespace().length() != 1 || !StreamSpec.NAME.matcher(id.name()).matches() || RESERVED.contains(id.namespace().toString())) {
            throw new BadRequestException("Cannot %s %s: Watershed's SQL queries tables named namespace.table, each with %s",
                    what, id, StreamSpec.NAME_RULE);
        }
        if (!caller.mayWrite(name(id))) {
            throw new ForbiddenException("%s", "Cannot " + what + " " + id + ": user '" + caller.user() + "' has no write grant for "
                    + "it. An admin can grant it: watershed access grant <role> write table:" + name(id));
        }
    }

    private Optional<String> managedReason(TableIdentifier id) {
        String namespace = id.namespace().toString();
        Optional<String> reason = managed.namespace(namespace);
        return reason.isPresent() ? reason : managed.table(namespace, id.name());
    }

    /** Refuses a location outside the warehouse: Watershed's SQL reads a table's files as the server does. */
    private void requireInWarehouse(TableIdentifier id, String location, String what) {
        if (!inWarehouse(location) || !IcebergLake.normalized(location).startsWith(IcebergLake.normalized(ownDirectory(id)))) {
            throw new ForbiddenException("%s", "Cannot write table " + id + ": " + what + " (" + location + ") is outside the "
                    + "table's own directory (" + ownDirectory(id) + "); tables of Watershed's catalog keep every file there");
        }
    }

    /**
     * Where the catalog puts the table by default ({@code <warehouse>/<namespace>/<table>}): an outside table keeps every
     * file below it, so that it can name no file of another table (whose grants may differ).
     */
    private String ownDirectory(TableIdentifier id) {
        String root = lake.catalogProperties().get(CatalogProperties.WAREHOUSE_LOCATION);
        return (root.endsWith("/") ? root : root + "/") + id.namespace() + "/" + id.name();
    }

    boolean inWarehouse(String location) {
        if (location == null) {
            return false;
        }
        if (!lake.remote()) {
            if (!location.startsWith("/") && !location.startsWith("file:")) {
                return false;
            }
            Path path = Path.of(location.replaceFirst("^file:/*", "/")).normalize();
            return path.startsWith(lake.warehouse());
        }
        String root = lake.catalogProperties().get(CatalogProperties.WAREHOUSE_LOCATION);
        return location.startsWith(root.endsWith("/") ? root : root + "/") && !location.contains("/../") && !location.endsWith("/..");
    }

    // ---- answers ----

    static String name(TableIdentifier id) {
        return (id.namespace() + "." + id.name()).toLowerCase(Locale.ROOT);
    }

    private static String object(TableIdentifier id) {
        return "table:" + id.namespace() + "." + id.name();
    }

    private static <T> T read(String body, Class<T> type) {
        try {
            return JSON.readValue(body == null || body.isBlank() ? "{}" : body, type);
        } catch (Exception e) {
            throw new BadRequestException(e, "Cannot read the request as %s: %s", type.getSimpleName(), e.getMessage());
        }
    }

    private static Response ok(String[] audit, Object response) {
        try {
            return new Response(200, JSON.writeValueAsString(response), audit[0], audit[1]);
        } catch (Exception e) {
            throw new IllegalStateException("Cannot write " + response.getClass().getSimpleName() + " as JSON", e);
        }
    }

    private static Response noContent(String[] audit) {
        return new Response(204, "", audit[0], audit[1]);
    }

    /** The spec's {@code ErrorResponse} for a failure: its status from the exception, as Iceberg's own adapter maps them. */
    static Response error(RuntimeException e, String action, String object) {
        int status;
        String type = e.getClass().getSimpleName();
        if (e instanceof NoSuchNamespaceException || e instanceof NoSuchTableException || e instanceof NoSuchViewException
                || e instanceof NoSuchIcebergTableException || e instanceof org.apache.iceberg.exceptions.NotFoundException) {
            status = 404;
        } else if (e instanceof AlreadyExistsException || e instanceof CommitFailedException || e instanceof NamespaceNotEmptyException) {
            status = 409;
        } else if (e instanceof ForbiddenException) {
            status = 403;
        } else if (e instanceof NotAuthorizedException) {
            status = 401;
        } else if (e instanceof BadRequestException || e instanceof ValidationException || e instanceof IllegalArgumentException) {
            status = 400;
            type = "BadRequestException";
        } else if (e instanceof UnsupportedOperationException) {
            status = 406;
        } else if (e instanceof UnprocessableEntityException) {
            status = 422;
        } else if (e instanceof WatershedException w) {
            status = w.code().httpStatus();
            type = typeOf(status);
        } else if (e instanceof CommitStateUnknownException) {
            status = 500;
        } else {
            org.slf4j.LoggerFactory.getLogger(IcebergRestCatalog.class).error("The Iceberg REST catalog failed ({})", action, e);
            return new Response(500, errorJson(500, "ServiceFailureException", "Cannot complete " + action + ": an internal error "
                    + "occurred (" + type + "); see the server log"), action, object);
        }
        return new Response(status, errorJson(status, type, e.getMessage()), action, object);
    }

    /** The exception type a client maps a status to. */
    public static String typeOf(int status) {
        return switch (status) {
            case 400 -> "BadRequestException";
            case 401 -> "NotAuthorizedException";
            case 403 -> "ForbiddenException";
            case 404 -> "NoSuchTableException";
            case 409 -> "AlreadyExistsException";
            case 429, 503 -> "ServiceUnavailableException";
            default -> "ServiceFailureException";
        };
    }

    /** The spec's error body: {@code {"error": {"message", "type", "code"}}}. */
    public static String errorJson(int status, String type, String message) {
        return ErrorResponseParser.toJson(ErrorResponse.builder().responseCode(status).withType(type)
                .withMessage(message == null ? type : message).build());
    }

    @Override
    public void close() {
        io.close();
    }
}
