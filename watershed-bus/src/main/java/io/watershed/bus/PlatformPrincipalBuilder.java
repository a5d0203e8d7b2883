package io.watershed.bus;

import org.apache.kafka.common.security.auth.AuthenticationContext;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.auth.PlaintextAuthenticationContext;
import org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder;

/**
 * The embedded broker's principals: a connection on its loopback plaintext listeners (INTERNAL, CONTROLLER) is the
 * platform itself, {@code User:watershed} (a super user); a client of the SASL listener is {@code User:<its SASL user
 * name>}, a token id, whether it logged in with SCRAM or PLAIN ({@link TokenPlainCallbackHandler}). Extends Kafka's
 * default builder, which also serialises principals for KRaft's forwarding.
 */
public final class PlatformPrincipalBuilder extends DefaultKafkaPrincipalBuilder {
    public static final KafkaPrincipal PLATFORM = new KafkaPrincipal(KafkaPrincipal.USER_TYPE, "watershed");

    public PlatformPrincipalBuilder() {
        super(null, null); // no Kerberos short names, no SSL principal mapping: neither is used
    }

    @Override
    public KafkaPrincipal build(AuthenticationContext context) {
        if (context instanceof PlaintextAuthenticationContext
                && (EmbeddedKafkaBroker.INTERNAL.equals(context.listenerName()) || "CONTROLLER".equals(context.listenerName()))) {
            return PLATFORM;
        }
        return super.build(context);
    }
}
