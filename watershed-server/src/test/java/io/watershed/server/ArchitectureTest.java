package io.watershed.server;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Parts do not import each other: what one needs of another is an interface in watershed-spi, and
 * watershed-server wires the implementations together (DESIGN.md, "Module layout").
 */
class ArchitectureTest {
    private static final List<String> PARTS = List.of("project", "access", "bus", "ingest", "lake", "query", "stream", "schedule");
    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("io.watershed");

    @Test
    void partsDependOnlyOnTheSpi() {
        for (String part : PARTS) {
            String[] others = PARTS.stream().filter(p -> !p.equals(part)).map(p -> "io.watershed." + p + "..")
                    .toArray(String[]::new);
            noClasses().that().resideInAPackage("io.watershed." + part + "..")
                    .should().dependOnClassesThat().resideInAnyPackage(others)
                    .orShould().dependOnClassesThat().resideInAnyPackage("io.watershed.server..", "io.watershed.cli..")
                    .because("part '" + part + "' may use only io.watershed.spi; put what it needs of another part "
                            + "behind an interface in watershed-spi and wire it in watershed-server")
                    .check(CLASSES);
        }
    }

    @Test
    void spiDependsOnNoPart() {
        noClasses().that().resideInAPackage("io.watershed.spi..")
                .should().dependOnClassesThat().resideInAnyPackage("io.watershed.project..", "io.watershed.bus..",
                        "io.watershed.ingest..", "io.watershed.lake..", "io.watershed.query..", "io.watershed.stream..", "io.watershed.schedule..",
                        "io.watershed.access..",
                        "io.watershed.server..")
                .because("the SPI holds contracts only").check(CLASSES);
    }

    /**
     * Jackson never picks a class from the input: no default typing, no polymorphic type ids. A JSON body can then only
     * ever become maps, lists, strings and numbers (or the records a handler names), whatever it says.
     */
    @Test
    void jacksonNeverReadsTypesFromInput() {
        noClasses().should().callMethod(com.fasterxml.jackson.databind.ObjectMapper.class, "activateDefaultTyping",
                        com.fasterxml.jackson.databind.jsontype.PolymorphicTypeValidator.class)
                .orShould().callMethod(com.fasterxml.jackson.databind.ObjectMapper.class, "enableDefaultTyping")
                .orShould().callMethod(com.fasterxml.jackson.databind.ObjectMapper.class, "activateDefaultTypingAsProperty",
                        com.fasterxml.jackson.databind.jsontype.PolymorphicTypeValidator.class,
                        com.fasterxml.jackson.databind.ObjectMapper.DefaultTyping.class, String.class)
                .orShould().dependOnClassesThat().haveFullyQualifiedName("com.fasterxml.jackson.annotation.JsonTypeInfo")
                .because("default typing lets a request name a class to instantiate (CVE-2017-7525 and its many successors)")
                .check(CLASSES);
    }
}
