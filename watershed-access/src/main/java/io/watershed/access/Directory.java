package io.watershed.access;

import io.watershed.access.AccessStore.Role;
import io.watershed.access.AccessStore.User;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Users, roles, memberships and grants as rows of the access database. Rows only: the rules (names, the admin that
 * stays, the audit log no grant reaches) and who hears of a change are {@link AccessStore}'s. Not thread-safe:
 * AccessStore holds its lock around every use.
 */
final class Directory {
    private final AccessDatabase db;

    Directory(AccessDatabase db) {
        this.db = db;
    }

    /** On a new database: the role admin, granted admin on everything, and the user admin in it. */
    void seedAdmin(long now) throws SQLException {
        if (roleExists(AccessStore.ADMIN)) {
            return;
        }
        db.update("INSERT INTO roles (name, created_at) VALUES (?, ?)", AccessStore.ADMIN, now);
        db.update("INSERT INTO grants (role, privilege, object, columns, created_at) VALUES (?, ?, ?, '', ?)", AccessStore.ADMIN,
                Privilege.ADMIN.label(), "*", now);
        db.update("INSERT INTO users (name, kind, created_at) VALUES (?, 'person', ?)", AccessStore.ADMIN, now);
        db.update("INSERT INTO members (\"user\", role) VALUES (?, ?)", AccessStore.ADMIN, AccessStore.ADMIN);
    }

    boolean userExists(String name) throws SQLException {
        return db.exists("SELECT 1 FROM users WHERE name = ?", name);
    }

    boolean roleExists(String name) throws SQLException {
        return db.exists("SELECT 1 FROM roles WHERE name = ?", name);
    }

    void insertUser(String name, String kind, long now) throws SQLException {
        db.update("INSERT INTO users (name, kind, created_at) VALUES (?, ?, ?)", name, kind, now);
    }

    /** Deletes the user and, with it, their memberships. */
    void deleteUser(String name) throws SQLException {
        db.update("DELETE FROM users WHERE name = ?", name);
    }

    List<User> users() throws SQLException {
        List<User> users = new ArrayList<>();
        try (PreparedStatement s = db.prepare("SELECT name, kind, created_at FROM users ORDER BY name"); ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                users.add(new User(rs.getString(1), rs.getString(2), rolesOf(rs.getString(1)), Instant.ofEpochMilli(rs.getLong(3))));
            }
        }
        return users;
    }

    void insertRole(String name, long now) throws SQLException {
        db.update("INSERT INTO roles (name, created_at) VALUES (?, ?)", name, now);
    }

    /** Deletes the role and, with it, its grants and memberships. */
    void deleteRole(String name) throws SQLException {
        db.update("DELETE FROM roles WHERE name = ?", name);
    }

    List<Role> roles() throws SQLException {
        List<String> names = new ArrayList<>();
        try (PreparedStatement s = db.prepare("SELECT name FROM roles ORDER BY name"); ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        List<Role> roles = new ArrayList<>();
        for (String name : names) {
            roles.add(new Role(name, grantsOf(name)));
        }
        return roles;
    }

    /** Adds the grant, or replaces the columns of the same privilege on the same object. */
    void upsertGrant(Grant grant, long now) throws SQLException {
        db.update("INSERT INTO grants (role, privilege, object, columns, created_at) VALUES (?, ?, ?, ?, ?) "
                + "ON CONFLICT (role, privilege, object) DO UPDATE SET columns = excluded.columns", grant.role(),
                grant.privilege().label(), grant.object(), String.join(",", grant.columns()), now);
    }

    /** Returns whether there was such a grant. */
    boolean deleteGrant(String role, Privilege privilege, String object) throws SQLException {
        return db.update("DELETE FROM grants WHERE role = ? AND privilege = ? AND object = ?", role, privilege.label(), object) > 0;
    }

    void addMember(String user, String role) throws SQLException {
        db.update("INSERT INTO members (\"user\", role) VALUES (?, ?) ON CONFLICT DO NOTHING", user, role);
    }

    void removeMember(String user, String role) throws SQLException {
        db.update("DELETE FROM members WHERE \"user\" = ? AND role = ?", user, role);
    }

    List<String> rolesOf(String user) throws SQLException {
        List<String> roles = new ArrayList<>();
        try (PreparedStatement s = db.prepare("SELECT role FROM members WHERE \"user\" = ? ORDER BY role")) {
            s.setString(1, user);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    roles.add(rs.getString(1));
                }
            }
        }
        return roles;
    }

    List<Grant> grantsOf(String role) throws SQLException {
        List<Grant> grants = new ArrayList<>();
        try (PreparedStatement s = db.prepare("SELECT privilege, object, columns FROM grants WHERE role = ? ORDER BY object, privilege")) {
            s.setString(1, role);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    String columns = rs.getString(3);
                    grants.add(new Grant(role, Privilege.parse(rs.getString(1)), rs.getString(2),
                            columns.isEmpty() ? List.of() : Arrays.asList(columns.split(","))));
                }
            }
        }
        return grants;
    }
}
