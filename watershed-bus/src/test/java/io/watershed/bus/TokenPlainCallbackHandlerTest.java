package io.watershed.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.plain.PlainAuthenticateCallback;
import org.apache.kafka.common.security.scram.ScramCredentialCallback;
import org.junit.jupiter.api.Test;

/** A PLAIN login of the embedded broker is what the registered logins say of its user and password, and nothing else. */
class TokenPlainCallbackHandlerTest {
    private static final String ID = "wst_abcdefghijklmnop";
    private static final String TOKEN = ID + "_" + "s".repeat(43);

    /** The handler as Kafka configures it from the listener's JAAS configuration. */
    private static AuthenticateCallbackHandler configured(String handle) {
        List<AppConfigurationEntry> entries = JaasContext.loadServerContext(new ListenerName("EXTERNAL"), "PLAIN",
                Map.of("plain.sasl.jaas.config", new Password(TokenPlainCallbackHandler.jaasConfig(handle)))).configurationEntries();
        TokenPlainCallbackHandler handler = new TokenPlainCallbackHandler();
        handler.configure(Map.of(), "PLAIN", entries);
        return handler;
    }

    private static boolean login(AuthenticateCallbackHandler handler, String user, String password) throws Exception {
        PlainAuthenticateCallback plain = new PlainAuthenticateCallback(password.toCharArray());
        handler.handle(new Callback[] {new NameCallback("user", user), plain});
        return plain.authenticated();
    }

    @Test
    void aLoginSucceedsOnlyWithTheTokenItsUserIsTheIdOf() throws Exception {
        String handle = TokenPlainCallbackHandler.register((user, password) -> user.equals(ID) && password.equals(TOKEN));
        try {
            AuthenticateCallbackHandler handler = configured(handle);
            assertThat(login(handler, ID, TOKEN)).isTrue();
            assertThat(login(handler, ID, TOKEN.substring(0, TOKEN.length() - 1) + "x")).as("a wrong password").isFalse();
            assertThat(login(handler, ID, "")).isFalse();
            assertThat(login(handler, "wst_someoneelseentir", TOKEN)).as("another user").isFalse();
        } finally {
            TokenPlainCallbackHandler.unregister(handle);
        }
    }

    @Test
    void aLoginWithoutAUserIsNeverChecked() throws Exception {
        String handle = TokenPlainCallbackHandler.register((user, password) -> true);
        try {
            PlainAuthenticateCallback noUser = new PlainAuthenticateCallback(TOKEN.toCharArray());
            configured(handle).handle(new Callback[] {noUser});
            assertThat(noUser.authenticated()).isFalse();
        } finally {
            TokenPlainCallbackHandler.unregister(handle);
        }
    }

    @Test
    void aLoginThatCannotBeCheckedThrowsWhichKafkaTurnsIntoAFailedAuthentication() {
        String handle = TokenPlainCallbackHandler.register((user, password) -> {
            throw new IllegalStateException("the access database is unreachable");
        });
        try {
            AuthenticateCallbackHandler handler = configured(handle);
            assertThatThrownBy(() -> login(handler, ID, TOKEN)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> handler.handle(new Callback[] {new ScramCredentialCallback()}))
                    .isInstanceOf(UnsupportedCallbackException.class);
        } finally {
            TokenPlainCallbackHandler.unregister(handle);
        }
    }

    @Test
    void aHandleNoLongerRegisteredIsRefusedWhenKafkaConfiguresTheHandler() {
        String handle = TokenPlainCallbackHandler.register((user, password) -> true);
        TokenPlainCallbackHandler.unregister(handle);
        assertThatThrownBy(() -> configured(handle)).isInstanceOf(KafkaException.class).hasMessageContaining("registered");
    }
}
