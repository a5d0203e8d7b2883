package io.watershed.bus;

import io.watershed.spi.InProcessHandles;
import java.util.List;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.plain.PlainAuthenticateCallback;
import org.apache.kafka.common.security.plain.PlainLoginModule;

/**
 * Checks the SASL/PLAIN logins of the embedded broker's client listener against the platform's tokens (user: a token's
 * id, password: the token), for the Kafka clients that cannot do SCRAM with Kafka 4 (librdkafka before 2.6.1: Debian's
 * kcat, Vector, Fluent Bit). Kafka's PLAIN server then makes the principal {@code User:<user>}, the same one a SCRAM
 * login of that token has, so the token's ACLs apply unchanged.
 *
 * <p>Kafka instantiates this class by name ({@code listener.name.<listener>.plain.sasl.server.callback.handler.class});
 * the {@link Logins} it asks is handed over by the handle {@link #register} returns, as the option {@value #HANDLE} of
 * the listener's PLAIN JAAS configuration. No password is logged here; Kafka logs a refused login with its user only.
 */
public final class TokenPlainCallbackHandler implements AuthenticateCallbackHandler {
    /** The JAAS option of {@code PlainLoginModule} that names the {@link Logins}. */
    static final String HANDLE = "watershed_logins";
    private static final InProcessHandles<Logins> LOGINS = new InProcessHandles<>();

    private Logins logins;

    /** What a PLAIN login is checked with. */
    @FunctionalInterface
    public interface Logins {
        /**
         * Whether {@code password} is an active token (neither revoked nor expired) whose id is {@code user}, compared in
         * constant time. May throw when the tokens cannot be read: the login then fails.
         */
        boolean valid(String user, String password);
    }

    /** Keeps {@code logins} in this JVM; returns the handle the listener's JAAS configuration names them by. */
    static String register(Logins logins) {
        return LOGINS.register(logins);
    }

    static void unregister(String handle) {
        LOGINS.unregister(handle);
    }

    /** The listener's PLAIN JAAS configuration, naming the logins of {@code handle}. */
    static String jaasConfig(String handle) {
        return PlainLoginModule.class.getName() + " required " + HANDLE + "=\"" + handle + "\";";
    }

    @Override
    public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasConfigEntries) {
        String handle = JaasContext.configEntryOption(jaasConfigEntries, HANDLE, PlainLoginModule.class.getName());
        this.logins = LOGINS.find(handle).orElseThrow(() -> new KafkaException("Cannot check SASL/PLAIN logins: the JAAS option "
                + HANDLE + " names no logins registered in this JVM (the broker that registered them is closed)"));
    }

    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        String user = null;
        for (Callback callback : callbacks) {
            if (callback instanceof NameCallback name) {
                user = name.getDefaultName();
            } else if (callback instanceof PlainAuthenticateCallback plain) {
                plain.authenticated(user != null && logins.valid(user, new String(plain.password())));
            } else {
                throw new UnsupportedCallbackException(callback);
            }
        }
    }

    @Override
    public void close() {
        logins = null;
    }
}
