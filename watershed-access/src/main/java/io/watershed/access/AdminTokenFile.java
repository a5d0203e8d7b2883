package io.watershed.access;

import io.watershed.access.AccessStore.IssuedToken;
import io.watershed.access.AccessStore.TokenInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The administrator's way in: the token in {@code admin.token} in the data directory, readable by its owner only,
 * where the cli finds it. Deleting the file (or damaging it) and starting again issues a new one and revokes the old.
 */
final class AdminTokenFile {
    private static final Logger LOG = LoggerFactory.getLogger(AdminTokenFile.class);
    /** The name of the admin token the file holds, so that the one it held before can be found and revoked. */
    static final String TOKEN_NAME = "admin-file";

    private AdminTokenFile() {}

    /** See {@link AccessStore#adminToken}. */
    static String ensure(AccessStore store, Path tokenFile, String tokenName) {
        if (Files.exists(tokenFile)) {
            try {
                String token = Files.readString(tokenFile, StandardCharsets.US_ASCII).strip();
                if (store.authenticateOrEmpty(token).isPresent()) {
                    return token;
                }
                LOG.warn("The admin token in {} is not valid (revoked, expired or damaged); issuing a new one", tokenFile);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read the admin token file " + tokenFile, e);
            }
        }
        for (TokenInfo t : store.tokens()) {
            if (t.user().equals(AccessStore.ADMIN) && t.name().equals(tokenName) && t.revokedAt().isEmpty()) {
                store.revokeToken(t.id());
            }
        }
        IssuedToken issued = store.issueToken(AccessStore.ADMIN, tokenName, Optional.empty(), Optional.empty(), Optional.empty());
        try {
            Files.createDirectories(tokenFile.getParent());
            Path temporary = tokenFile.resolveSibling(tokenFile.getFileName() + ".tmp");
            Files.deleteIfExists(temporary);
            Files.createFile(temporary, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(temporary, issued.token() + "\n", StandardCharsets.US_ASCII);
            Files.move(temporary, tokenFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the admin token file " + tokenFile, e);
        }
        LOG.info("Issued the admin token {} and wrote it to {} (readable by its owner only)", issued.info().id(), tokenFile);
        return issued.token();
    }
}
