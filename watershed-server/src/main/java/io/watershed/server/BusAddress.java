package io.watershed.server;

import java.util.List;

/**
 * Where outside Kafka clients reach the bus, as health, {@code /v1/sources} and the banner show it.
 *
 * @param address the embedded broker's client listener, or the configured cluster's bootstrap servers
 * @param embedded whether the platform runs the broker itself
 * @param mechanisms the SASL mechanisms outside clients log in with as a token (user = token id, password = token):
 *     the embedded broker's (PLAIN on loopback or with bus.plain_over_network, SCRAM-SHA-256 and -512; none with
 *     bus.plaintext), SCRAM on an external cluster with bus.manage_acls, else none
 */
record BusAddress(String address, boolean embedded, List<String> mechanisms) {
    /** How an outside client logs in, in words. */
    String authentication() {
        if (!mechanisms.isEmpty()) {
            return "SASL " + String.join(", ", mechanisms) + ": user = token id, password = token"
                    + (embedded ? "" : ", with the cluster's security protocol");
        }
        return embedded ? "none (bus.plaintext)" : "as the cluster's administrators configured it (bus.manage_acls is off: "
                + "Watershed tokens do not log in to Kafka)";
    }
}
