package io.watershed.server;

/**
 * Where outside Kafka clients reach the bus, as health, {@code /v1/sources} and the banner show it.
 *
 * @param address the embedded broker's SASL/SCRAM listener, or the configured cluster's bootstrap servers
 * @param embedded whether the platform runs the broker itself
 * @param authenticated whether outside clients log in with a token over SASL/SCRAM (the embedded broker unless
 *     bus.plaintext; an external cluster with bus.manage_acls)
 */
record BusAddress(String address, boolean embedded, boolean authenticated) {
    /** How an outside client logs in, in words. */
    String authentication() {
        return authenticated ? "SASL/SCRAM-SHA-256 or -512: user = token id, password = token"
                        + (embedded ? "" : ", with the cluster's security protocol")
                : embedded ? "none (bus.plaintext)" : "as the cluster's administrators configured it (bus.manage_acls is off: "
                        + "Watershed tokens do not log in to Kafka)";
    }
}
