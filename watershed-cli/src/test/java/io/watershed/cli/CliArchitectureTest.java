package io.watershed.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The command talks to the platform through the server's entry points ({@code Platform}, {@code ProjectCheck}) and the
 * HTTP API, never to the parts that the server composes, so a part can change inside without the command noticing. It
 * loads the project's files itself ({@code io.watershed.project}), as validate and up need them before anything starts.
 */
class CliArchitectureTest {
    private static final JavaClasses CLI = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.watershed.cli");

    @Test
    void cliUsesTheServerNotTheParts() {
        noClasses().that().resideInAPackage("io.watershed.cli..")
                .should().dependOnClassesThat().resideInAnyPackage("io.watershed.access..", "io.watershed.bus..",
                        "io.watershed.ingest..", "io.watershed.lake..", "io.watershed.query..", "io.watershed.stream..",
                        "io.watershed.schedule..", "io.watershed.search..")
                .because("the cli reaches the platform through io.watershed.server (Platform, ProjectCheck) or over HTTP; "
                        + "add an entry point to the server when the command needs something of a part")
                .check(CLI);
    }
}
