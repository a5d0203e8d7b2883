package io.watershed.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SettingsSchemaTest {
    /** A settings root as a later part would grow one: each setting is one annotated component and nothing else. */
    record Root(Store store) {}

    record Store(
            @Setting(value = "4", min = 1, max = 64, doc = "Writers per table.")
            int writers,
            @Setting(value = "1GiB", size = true, min = 1, doc = "Largest upload part.")
            long partSize,
            @Setting(value = "", unset = "anonymous", doc = "Access key id.")
            Optional<String> accessKey,
            @Setting(value = "", doc = "Secret key of access_key.")
            Secret secretKey,
            @Setting(value = "false", otherProfiles = "true", doc = "Check each part's checksum.")
            boolean verify,
            @Setting(value = "2s", doc = "How long a request may take.")
            Duration requestTimeout) {}

    private static final SettingsSchema<Root> SCHEMA = SettingsSchema.of(Root.class);

    @Test
    void oneDeclarationGivesTheKeyTypeDefaultAndReference() {
        assertThat(SCHEMA.all()).extracting(SettingsSchema.Definition::name).containsExactly("store.writers", "store.part_size",
                "store.access_key", "store.secret_key", "store.verify", "store.request_timeout");
        assertThat(SCHEMA.defaults("local")).isEqualTo(new Root(new Store(4, 1L << 30, Optional.empty(), Secret.of(""), false,
                Duration.ofSeconds(2))));
        assertThat(SCHEMA.defaults("cluster").store().verify()).as("the default outside profile local").isTrue();
        assertThat(SCHEMA.reference()).contains("| `store.part_size` | size | `1GiB` | Largest upload part. |")
                .contains("| `store.access_key` | string | `(empty: anonymous)` | Access key id. |")
                .contains("| `store.secret_key` | secret | `(empty)` | Secret key of access_key. Shown masked everywhere. |")
                .contains("| `store.verify` | boolean | `false in profile local, else true` |");
    }

    @Test
    void bindingParsesChecksAndMasks() {
        SettingsSchema.Definition writers = SCHEMA.find("store.writers").orElseThrow();
        SettingsSchema.Definition secret = SCHEMA.find("store.secret_key").orElseThrow();
        Root root = SCHEMA.bind(Map.of("store.writers", writers.parse("8"), "store.secret_key", secret.parse("s3cr3t"),
                "store.access_key", SCHEMA.find("store.access_key").orElseThrow().parse(" AKIA ")), "local");
        assertThat(root.store().writers()).isEqualTo(8);
        assertThat(root.store().accessKey()).contains("AKIA");
        assertThat(root.store().secretKey().reveal()).isEqualTo("s3cr3t");
        assertThat(secret.sensitive()).isTrue();
        assertThat(SCHEMA.describe(root)).containsEntry("store.secret_key", Secret.MASK).containsEntry("store.writers", "8")
                .containsEntry("store.request_timeout", "2s").containsEntry("store.part_size", "1GiB").doesNotContainValue("s3cr3t");
        assertThat(root.toString()).doesNotContain("s3cr3t");

        assertThatThrownBy(() -> writers.parse("65")).hasMessage("store.writers must be between 1 and 64, got 65");
        assertThatThrownBy(() -> writers.parse("many")).hasMessage("store.writers: expected an integer, got 'many'");
        assertThatThrownBy(() -> SCHEMA.find("store.part_size").orElseThrow().parse("0")).hasMessage(
                "store.part_size must be at least 1, got 0");
    }

    record BadDefault(Section section) {
        record Section(@Setting(value = "0", min = 1, doc = "d") int count) {}
    }

    record Undeclared(Section section) {
        record Section(int count) {}
    }

    @Test
    void aDeclarationThatCannotWorkFailsAtOnce() {
        assertThatThrownBy(() -> SettingsSchema.of(BadDefault.class)).hasMessageContaining("the default does not validate");
        assertThatThrownBy(() -> SettingsSchema.of(Undeclared.class)).hasMessageContaining("has no @Setting declaration");
    }

    @Test
    void alertTargetsMustBeHttpUrlsAndAreNeverQuoted() {
        Settings.Alerts defaults = Settings.defaults().alerts();
        assertThat(defaults.notifies()).isFalse();
        assertThat(defaults.problems()).isEmpty();
        assertThat(defaults.repeatInterval()).isEqualTo(java.time.Duration.ofHours(4));
        Settings.Alerts set = new Settings.Alerts(Secret.of("https://hooks.slack.example/services/T0/B0/xyz, ftp://files/secret-one"),
                Secret.of("am:9093"), java.time.Duration.ofSeconds(1), java.time.Duration.ofMillis(500), java.time.Duration.ZERO);
        assertThat(set.webhookUrls()).hasSize(2);
        assertThat(set.problems()).hasSize(4).noneMatch(p -> p.contains("secret-one") || p.contains("xyz") || p.contains("am:9093"))
                .anyMatch(p -> p.startsWith("alerts.webhooks: URL 2 of 2"))
                .anyMatch(p -> p.startsWith("alerts.alertmanager is not"))
                .anyMatch(p -> p.startsWith("alerts.evaluation_interval"))
                .anyMatch(p -> p.startsWith("alerts.dead_letters_window"));
    }

    @Test
    void thePlatformsSettingsAreDeclaredSoToo() {
        Settings defaults = Settings.defaults();
        assertThat(defaults.http().port()).isEqualTo(7070);
        assertThat(defaults.http().maxBody()).isEqualTo(16L << 20);
        assertThat(defaults.ingest().autoCreateStreams()).isTrue();
        assertThat(SettingsSchema.PLATFORM.defaults("cluster").ingest().autoCreateStreams()).isFalse();
        assertThat(defaults.ingest().maxLakeLag()).isEqualTo(5_000_000L);
        assertThat(SettingsSchema.PLATFORM.find("ingest.max_lake_lag").orElseThrow().parse("0")).as("0 turns it off").isEqualTo(0L);
        assertThat(SettingsSchema.PLATFORM.all()).filteredOn(SettingsSchema.Definition::sensitive)
                .extracting(SettingsSchema.Definition::name).contains("http.tls_keystore_password", "ingest.forward_shared_key",
                        "bus.sasl_password", "metadata.password", "alerts.webhooks", "alerts.alertmanager");
        assertThat(SettingsSchema.PLATFORM.sections()).containsExactly("http", "auth", "ingest", "bus", "lake", "query", "pg", "pipelines",
                "models", "metadata", "alerts");
        assertThatThrownBy(() -> SettingsSchema.PLATFORM.find("models.namespace").orElseThrow().parse("raw"))
                .hasMessageContaining("models.namespace 'raw' is not valid");
    }

    @Test
    void durationsShowAsWritten() {
        assertThat(SettingType.format(Duration.ofMillis(500))).isEqualTo("500ms");
        assertThat(SettingType.format(Duration.ofSeconds(150))).isEqualTo("150s");
        assertThat(SettingType.format(Duration.ofMinutes(1))).isEqualTo("1m");
        assertThat(SettingType.format(Duration.ofDays(3))).isEqualTo("3d");
        assertThatThrownBy(() -> SettingType.duration("999999999999999d")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void anExternalClustersSecurityBecomesClientProperties() {
        Settings.Bus bus = new Settings.Bus(Optional.of("k1:9093"), 9092, "127.0.0.1", false, false, "SASL_SSL", Optional.of("SCRAM-SHA-512"),
                Optional.of("svc"), Secret.of("p\"w"), Optional.of("/etc/trust.p12"), Secret.of("t"), Optional.empty(), Secret.of(""), 3, 2, true);
        assertThat(bus.clientSecurity()).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry("sasl.jaas.config",
                        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"svc\" password=\"p\\\"w\";")
                .containsEntry("ssl.truststore.location", "/etc/trust.p12").doesNotContainKey("ssl.keystore.location");
        assertThat(Settings.defaults().bus().clientSecurity()).as("the embedded broker is reached as the platform sets it up").isEmpty();
        Settings.Bus ssl = new Settings.Bus(Optional.of("k1:9093"), 9092, "127.0.0.1", false, false, "SSL", Optional.empty(), Optional.empty(),
                Secret.of(""), Optional.of("/etc/ca.p12"), Secret.of(""), Optional.empty(), Secret.of(""), 0, 0, false);
        assertThat(ssl.clientSecurity()).as("a store without a password gets none, not an empty one")
                .containsEntry("ssl.truststore.location", "/etc/ca.p12").doesNotContainKey("ssl.truststore.password");
        assertThat(ssl.problems()).isEmpty();
        assertThat(bus.problems()).isEmpty();
        assertThat(bus.topicPlacement()).isEqualTo(new BusConnection.Placement(3, 2));
        Settings.Bus tooFew = new Settings.Bus(Optional.of("k1:9093"), 9092, "127.0.0.1", false, false, "SASL_SSL", Optional.of("PLAIN"),
                Optional.of("svc"), Secret.of("pw"), Optional.empty(), Secret.of(""), Optional.empty(), Secret.of(""), 2, 3, true);
        assertThat(tooFew.problems()).as("min ISR above the replicas; ACLs for PLAIN users")
                .anySatisfy(p -> assertThat(p).contains("bus.min_insync_replicas (3) is above bus.replication_factor (2)"))
                .anySatisfy(p -> assertThat(p).contains("bus.manage_acls gives each token a SCRAM login"));
        Settings.Bus embedded = new Settings.Bus(Optional.empty(), 9092, "127.0.0.1", false, false, "PLAINTEXT", Optional.empty(),
                Optional.empty(), Secret.of(""), Optional.empty(), Secret.of(""), Optional.empty(), Secret.of(""), 3, 0, false);
        assertThat(embedded.problems()).singleElement().asString().contains("the embedded broker is one node");
        Settings.Bus plainOutside = new Settings.Bus(Optional.of("k1:9093"), 9092, "127.0.0.1", false, true, "PLAINTEXT",
                Optional.empty(), Optional.empty(), Secret.of(""), Optional.empty(), Secret.of(""), Optional.empty(), Secret.of(""), 0, 0,
                false);
        assertThat(plainOutside.problems()).singleElement().asString().contains("bus.plain_over_network is for the embedded broker");
        Settings.Bus plainWithoutLogins = new Settings.Bus(Optional.empty(), 9092, "0.0.0.0", true, true, "PLAINTEXT",
                Optional.empty(), Optional.empty(), Secret.of(""), Optional.empty(), Secret.of(""), Optional.empty(), Secret.of(""), 0, 0,
                false);
        assertThat(plainWithoutLogins.problems()).singleElement().asString().contains("bus.plaintext turns logins off");
    }

    @Test
    void aWarehouseOnS3AndItsSettingsGoTogether() {
        Settings.Lake local = Settings.defaults().lake();
        assertThat(local.remote()).isFalse();
        assertThat(local.problems()).isEmpty();
        Settings.Lake s3 = lake(Optional.of("s3://lake-bucket/wh"), Optional.of("http://127.0.0.1:9000"), true, "AKID", "secret");
        assertThat(s3.remote()).isTrue();
        assertThat(s3.problems()).isEmpty();
        assertThat(s3.toString()).doesNotContain("secret").doesNotContain("AKID");
        assertThat(lake(Optional.empty(), Optional.of("http://127.0.0.1:9000"), false, "", "").problems())
                .singleElement().asString().contains("lake.s3_* is for a warehouse on S3");
        assertThat(lake(Optional.of("/var/lake"), Optional.empty(), false, "AKID", "").problems())
                .anySatisfy(p -> assertThat(p).contains("lake.warehouse '/var/lake' is not an S3 location"))
                .anySatisfy(p -> assertThat(p).contains("go together"));
        assertThat(lake(Optional.of("s3://b-1/x"), Optional.of("127.0.0.1:9000"), false, "", "").problems())
                .singleElement().asString().contains("lake.s3_endpoint '127.0.0.1:9000' is not an endpoint");
    }

    private static Settings.Lake lake(Optional<String> warehouse, Optional<String> endpoint, boolean pathStyle, String key, String secret) {
        Settings.Lake d = Settings.defaults().lake();
        return new Settings.Lake(d.commitInterval(), d.targetFileSize(), d.upkeepInterval(), d.compactionMinFiles(), d.snapshotRetention(),
                d.orphanDelay(), warehouse, endpoint, "us-east-1", pathStyle, Secret.of(key), Secret.of(secret), 1L << 30);
    }
}
