package io.watershed.testing.opensearch;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.codelibs.opensearch.runner.OpenSearchRunner;
import org.opensearch.http.HttpServerTransport;

/**
 * One OpenSearch node, single-node discovery, HTTP and transport on free loopback ports, its files under the directory
 * given as the only argument. Once it listens it writes its HTTP port to {@code <directory>/http.port}; it runs until
 * the JVM is told to stop (SIGTERM), then closes the node. {@code io.watershed.testing.OpenSearchNode} starts it.
 */
public final class OpenSearchMain {
    private OpenSearchMain() {}

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]).toAbsolutePath();
        OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(-1); // http.port is set below: the runner's own port probing (9201..9299) is not wanted
        runner.onBuild((index, settings) -> settings
                .put("network.host", "127.0.0.1")
                .put("http.port", "0")
                .put("transport.port", "0")
                .put("discovery.type", "single-node")
                .putList("node.roles", "cluster_manager", "data", "ingest")
                // a test machine's disk may be fuller than the production watermarks allow
                .put("cluster.routing.allocation.disk.threshold_enabled", false));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception e) {
                System.err.println("Cannot close the OpenSearch node: " + e);
            }
        }, "opensearch-close"));
        runner.build(OpenSearchRunner.newConfigs().basePath(home.toString()).numOfNode(1).clusterName("watershed-test"));
        int port = runner.node().injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress().getPort();
        Path written = home.resolve("http.port.tmp");
        Files.writeString(written, String.valueOf(port), StandardCharsets.US_ASCII);
        Files.move(written, home.resolve("http.port"), StandardCopyOption.ATOMIC_MOVE);
        Thread.currentThread().join(); // until SIGTERM: the hook above closes the node
    }
}
