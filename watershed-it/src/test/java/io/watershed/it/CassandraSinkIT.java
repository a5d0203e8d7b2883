package io.watershed.it;

import io.watershed.testing.CassandraNode;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The sink conformance suite against a real Apache Cassandra 5.0 node (a JVM of its own), read back with the Apache
 * Cassandra Java driver.
 */
class CassandraSinkIT extends SinkConformance {
    private static final String KEYSPACE = "serving";
    private CassandraNode cassandra;

    @BeforeAll
    void startCassandra() throws Exception {
        cassandra = CassandraNode.start(Files.createTempDirectory("cassandra-sink-it"));
    }

    @AfterAll
    void stopCassandra() {
        if (cassandra != null) {
            cassandra.close();
        }
    }

    @Override
    java.util.Optional<String> refusingTable() {
        return java.util.Optional.empty();
    }

    @Override
    void stopStore() {
        cassandra.stop();
    }

    @Override
    void startStore() {
        cassandra.start();
    }

    @Override
    String connection() {
        // the node asks for no login: the password is not sent
        return "type: cassandra\ncontact_points: [" + cassandra.contactPoint() + "]\nlocal_datacenter: " + CassandraNode.DATACENTER
                + "\nkeyspace: " + KEYSPACE + "\nconsistency: local_one\nuser: cassandra\npassword: " + SECRET;
    }

    @Override
    List<String> storeRows(String query) {
        return cassandra.rows(query.replaceFirst(" FROM (\\w+)", " FROM " + KEYSPACE + ".$1"));
    }
}
