package io.watershed.server;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.Secret;
import io.watershed.spi.WatershedException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/** The HTTPS connector, when {@code http.tls_keystore} is set: TLS 1.2 and 1.3 only, with Jetty's default cipher suites. */
final class Tls {
    private Tls() {}

    static ServerConnector connector(Server server, HttpConfiguration http, Path keystore, Secret password, String host, int port) {
        if (!Files.isReadable(keystore)) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, "Cannot serve HTTPS: http.tls_keystore " + keystore
                    + " does not exist or cannot be read; make a PKCS#12 keystore, e.g. keytool -genkeypair -storetype PKCS12 ...");
        }
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStorePath(keystore.toAbsolutePath().toString());
        ssl.setKeyStoreType("PKCS12");
        ssl.setKeyStorePassword(password.reveal());
        ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        HttpConfiguration https = new HttpConfiguration(http);
        https.addCustomizer(new SecureRequestCustomizer());
        ServerConnector connector = new ServerConnector(server, new SslConnectionFactory(ssl, HttpVersion.HTTP_1_1.asString()),
                new HttpConnectionFactory(https));
        connector.setHost(host);
        connector.setPort(port);
        return connector;
    }
}
