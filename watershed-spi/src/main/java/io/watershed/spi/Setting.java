package io.watershed.spi;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.Optional;

/**
 * Declares one {@code watershed.yaml} setting, on a component of a section record of {@link Settings} (in the spirit of
 * Kafka's {@code ConfigDef.define}). The declaration is the only place a setting is written: its key is
 * {@code <section>.<component in snake_case>}, its type follows from the component's Java type ({@link SettingType}; a
 * {@link Secret} is sensitive and shown masked everywhere), and binding, validation, {@code watershed config}, the
 * reference in {@code docs/configuration.md} and masking all read it through {@link SettingsSchema}.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Setting {
    /** Marks an attribute left out. */
    String NONE = "\u0000";

    /**
     * The default, written as in {@code watershed.yaml} ({@code 7070}, {@code 16MiB}, {@code 30s}); empty for an unset
     * optional value or secret. It is parsed and checked like any value when the schema is first read, so a default
     * that would not validate fails at once.
     */
    String value();

    /** What the setting does, in one or two sentences, for the reference. */
    String doc();

    /** The default outside profile {@code local}, when it differs there. */
    String otherProfiles() default NONE;

    /** What leaving an optional value empty means ("plain HTTP"), shown in the reference as {@code (empty: ...)}. */
    String unset() default "";

    /** A number of bytes, written with a unit ({@code 16MiB}); on an {@code int} or {@code long} component. */
    boolean size() default false;

    /** The least value of a number (or, for a size, of bytes). */
    long min() default Long.MIN_VALUE;

    /** The greatest value of a number. */
    long max() default Long.MAX_VALUE;

    /** The values a string may take, when they are few. */
    String[] oneOf() default {};

    /** A further rule, when bounds and a list of values do not say it. */
    Class<? extends Check> check() default Check.class;

    /** A rule on a setting's parsed value; implementations have a public constructor without arguments. */
    interface Check {
        /** Why the value is refused (it is never sensitive: secrets take no check), or empty. */
        Optional<String> problem(Object value);
    }
}
