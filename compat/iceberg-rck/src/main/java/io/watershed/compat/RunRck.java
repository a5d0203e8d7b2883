package io.watershed.compat;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * Runs Iceberg's REST Compatibility Kit ({@code RESTCompatibilityKitCatalogTests}, the catalog half: Watershed serves no
 * views) against the catalog the system properties name ({@code uri}, {@code token}: RCKUtils passes every system property
 * to the client), never a local fixture server ({@code rck.local=false}). Prints one line per test, then the summary.
 */
public final class RunRck {
    private RunRck() {}

    public static void main(String[] args) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass("org.apache.iceberg.rest.RESTCompatibilityKitCatalogTests"))
                .configurationParameter("rck.local", "false").build();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        TestExecutionListener each = new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (id.isTest()) {
                    String why = result.getThrowable().map(t -> (t.getClass().getSimpleName() + ": " + t.getMessage())
                            .replace('\n', ' ')).orElse("");
                    System.out.println("RCK " + result.getStatus() + " " + id.getLegacyReportingName() + " "
                            + (why.length() > 300 ? why.substring(0, 300) + "..." : why));
                }
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                System.out.println("RCK SKIPPED " + id.getLegacyReportingName() + " " + reason);
            }
        };
        LauncherFactory.create().execute(request, summary, each);
        summary.getSummary().printTo(new PrintWriter(System.out));
        System.exit(summary.getSummary().getTotalFailureCount() == 0 ? 0 : 1);
    }
}
