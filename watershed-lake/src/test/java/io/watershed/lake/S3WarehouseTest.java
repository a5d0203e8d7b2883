package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.Secret;
import io.watershed.spi.Settings;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsCredentials;

/** What a lake with its warehouse on S3 hands to other Iceberg clients; no request reaches S3 here. */
class S3WarehouseTest {
    @TempDir
    Path dir;

    static Settings.Lake onS3(String key, String secret) {
        Settings.Lake d = Settings.defaults().lake();
        return new Settings.Lake(d.commitInterval(), d.targetFileSize(), d.upkeepInterval(), d.compactionMinFiles(), d.snapshotRetention(),
                d.orphanDelay(), Optional.of("s3://lake-bucket/wh/"), Optional.of("http://127.0.0.1:9"), "eu-west-1", true,
                Secret.of(key), Secret.of(secret), 1L << 20);
    }

    @Test
    void catalogPropertiesNameS3FileIoAndACredentialsHandleButNeverTheKeys() {
        Map<String, String> properties;
        String handle;
        try (IcebergLake lake = new IcebergLake(dir, onS3("AKIDEXAMPLE", "wJalrXUtnFEMI-secret"),
                io.watershed.spi.StateDatabase.local(dir))) {
            assertThat(lake.remote()).isTrue();
            assertThat(lake.warehouse()).as("DuckDB reads the cache").isEqualTo(dir.resolve("cache").toAbsolutePath());
            properties = lake.catalogProperties();
            assertThat(properties).containsEntry("warehouse", "s3://lake-bucket/wh")
                    .containsEntry("io-impl", "org.apache.iceberg.aws.s3.S3FileIO")
                    .containsEntry("s3.endpoint", "http://127.0.0.1:9")
                    .containsEntry("s3.path-style-access", "true")
                    .containsEntry("client.region", "eu-west-1")
                    .containsEntry("client.credentials-provider", S3Credentials.class.getName());
            assertThat(properties.toString()).doesNotContain("wJalrXUtnFEMI-secret").doesNotContain("AKIDEXAMPLE");
            handle = properties.get("client.credentials-provider.handle");
            AwsCredentials credentials = S3Credentials.create(Map.of("handle", handle)).resolveCredentials();
            assertThat(credentials.accessKeyId()).isEqualTo("AKIDEXAMPLE");
            assertThat(credentials.secretAccessKey()).isEqualTo("wJalrXUtnFEMI-secret");
            assertThat(lake.tables()).isEmpty();
        }
        assertThatThrownBy(() -> S3Credentials.create(Map.of("handle", handle)).resolveCredentials())
                .as("closing the lake forgets its keys").hasMessageContaining("closed");
    }

    @Test
    void withoutKeysTheSdksDefaultCredentialsApply() {
        try (IcebergLake lake = new IcebergLake(dir, onS3("", ""), io.watershed.spi.StateDatabase.local(dir))) {
            assertThat(lake.catalogProperties()).doesNotContainKey("client.credentials-provider");
        }
    }

    @Test
    void theLocalWarehouseIsAsBefore() {
        try (IcebergLake lake = new IcebergLake(dir)) {
            assertThat(lake.remote()).isFalse();
            assertThat(lake.warehouse()).isEqualTo(dir.resolve("warehouse").toAbsolutePath()).isDirectory();
            assertThat(lake.catalogProperties()).containsEntry("warehouse", dir.resolve("warehouse").toAbsolutePath().toUri().toString())
                    .doesNotContainKey("io-impl");
        }
    }
}
