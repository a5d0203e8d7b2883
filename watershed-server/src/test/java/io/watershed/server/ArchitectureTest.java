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
    private static final List<String> PARTS = List.of("project", "access", "bus", "ingest", "lake", "query", "stream", "schedule",
            "search", "ml");
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
                        "io.watershed.search..", "io.watershed.ml..",
                        "io.watershed.access..",
                        "io.watershed.server..")
                .because("the SPI holds contracts only").check(CLASSES);
    }

    /**
     * Kafka's clients belong to the bus: the other parts get what they need from it through the SPI ({@code EventBus}'s
     * {@code BusReader}, {@code BusAdmin} and {@code BusRecord}; the {@code BusConnection} where a Kafka connector needs
     * client properties), so that connecting to another cluster touches one part. These
     * classes still build Kafka clients of their own (from the {@code BusConnection}, so with its security); the list
     * only shrinks, and the test fails when an entry no longer needs to be on it.
     */
    private static final java.util.Set<String> STILL_USING_KAFKA_CLIENTS = java.util.Set.of(
            "io.watershed.stream.StreamSink$StreamCommitter");

    @Test
    void kafkaClientsStayInTheBus() {
        noClasses().that().resideOutsideOfPackage("io.watershed.bus..")
                .and(com.tngtech.archunit.base.DescribedPredicate.describe("not on the shrinking list",
                        (com.tngtech.archunit.core.domain.JavaClass c) -> !STILL_USING_KAFKA_CLIENTS.contains(outermost(c).getName())
                                && !STILL_USING_KAFKA_CLIENTS.contains(c.getName())))
                .should().dependOnClassesThat().resideInAPackage("org.apache.kafka.clients..")
                .because("Kafka clients are built by the bus from the one BusConnection (bus.* settings, SASL/TLS); ask the "
                        + "bus through watershed-spi instead")
                .check(CLASSES);
        for (String name : STILL_USING_KAFKA_CLIENTS) {
            boolean uses = CLASSES.stream().filter(c -> c.getName().equals(name) || c.getName().startsWith(name + "$"))
                    .anyMatch(c -> c.getDirectDependenciesFromSelf().stream()
                            .anyMatch(d -> d.getTargetClass().getPackageName().startsWith("org.apache.kafka.clients")));
            org.assertj.core.api.Assertions.assertThat(uses).as("%s no longer uses Kafka's clients: take it off the list", name)
                    .isTrue();
        }
    }

    private static com.tngtech.archunit.core.domain.JavaClass outermost(com.tngtech.archunit.core.domain.JavaClass c) {
        com.tngtech.archunit.core.domain.JavaClass outer = c;
        while (outer.getEnclosingClass().isPresent()) {
            outer = outer.getEnclosingClass().get();
        }
        return outer;
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
