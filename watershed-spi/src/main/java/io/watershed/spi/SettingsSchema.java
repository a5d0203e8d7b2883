package io.watershed.spi;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Every {@code watershed.yaml} setting, read from the {@link Setting} declarations on the section records of
 * {@link Settings}: the one list that binding, validation, {@code watershed config}, {@code docs/configuration.md} and
 * masking use. A declaration that cannot work (a default that does not parse, a type without a parser) fails when
 * this class is first used, so every test that loads a project finds it.
 */
public final class SettingsSchema<T extends Record> {
    /** The profile whose defaults are the declared {@link Setting#value()}s. */
    public static final String LOCAL = "local";

    /** The platform's settings: {@code watershed.yaml}. */
    public static final SettingsSchema<Settings> PLATFORM = new SettingsSchema<>(Settings.class);

    private final Class<T> root;
    private final List<Definition> all;
    private final Map<String, Definition> byName;

    private SettingsSchema(Class<T> root) {
        this.root = root;
        this.all = read(root);
        this.byName = all.stream().collect(Collectors.toMap(Definition::name, Function.identity(), (a, b) -> a, LinkedHashMap::new));
    }

    /**
     * The schema of {@code root}, a record whose components are section records whose components carry {@link Setting}
     * (as {@link Settings}).
     *
     * @throws IllegalStateException when a declaration cannot work
     */
    public static <R extends Record> SettingsSchema<R> of(Class<R> root) {
        return new SettingsSchema<>(root);
    }

    /** One setting: its key, type and declaration. */
    public record Definition(String section, String leaf, SettingType type, Class<?> javaType, boolean optional, Setting declaration,
            RecordComponent component, Object localDefault, Object otherDefault) {
        public String name() {
            return section + "." + leaf;
        }

        /** Secrets are shown as {@code ****} in the reference, answers and logs, and never quoted in errors. */
        public boolean sensitive() {
            return type == SettingType.SECRET;
        }

        public String doc() {
            return declaration.doc();
        }

        /** The typed default in {@code profile}. */
        public Object defaultValue(String profile) {
            return LOCAL.equals(profile) ? localDefault : otherDefault;
        }

        /** The default as the reference shows it. */
        public String defaultShown() {
            String value = declaration.value();
            if (!declaration.otherProfiles().equals(Setting.NONE)) {
                return value + " in profile local, else " + declaration.otherProfiles();
            }
            if (value.isEmpty()) {
                return declaration.unset().isEmpty() ? "(empty)" : "(empty: " + declaration.unset() + ")";
            }
            return value;
        }

        /** The type as the reference shows it, with the values a string may take. */
        public String typeShown() {
            return declaration.oneOf().length > 0 ? String.join(" \\| ", declaration.oneOf()) : type.shown();
        }

        /**
         * The value written {@code text}, typed as the record component, after every check of the declaration.
         *
         * @throws IllegalArgumentException why it is refused, naming the setting (a secret's value is never quoted)
         */
        public Object parse(String text) {
            Object value;
            try {
                value = type.parse(text);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name() + ": " + e.getMessage());
            }
            if (value instanceof Long number) {
                long least = declaration.min();
                long most = javaType == int.class ? Math.min(declaration.max(), Integer.MAX_VALUE) : declaration.max();
                if (javaType == int.class) {
                    least = Math.max(least, Integer.MIN_VALUE);
                }
                if (number < least || number > most) {
                    throw new IllegalArgumentException(name() + " must be " + range(least, most) + ", got " + text.trim());
                }
                value = javaType == int.class ? (Object) number.intValue() : number;
            }
            if (type == SettingType.STRING) {
                String s = ((String) value).trim();
                if (declaration.oneOf().length > 0 && !(optional && s.isEmpty()) && !Arrays.asList(declaration.oneOf()).contains(s)) {
                    throw new IllegalArgumentException(name() + " must be one of " + Arrays.toString(declaration.oneOf()) + ", got '"
                            + s + "'");
                }
                value = optional ? (s.isEmpty() ? Optional.empty() : Optional.of(s)) : value;
            }
            if (declaration.check() != Setting.Check.class) {
                Optional<String> problem = check(declaration.check()).problem(value);
                if (problem.isPresent()) {
                    throw new IllegalArgumentException(name() + " " + problem.get());
                }
            }
            return value;
        }

        /** The value as {@code watershed config --effective} and API answers show it: masked when sensitive. */
        public String shown(Object value) {
            if (value instanceof Optional<?> o) {
                return o.map(Object::toString).orElse("");
            }
            if (value instanceof Duration d) {
                return SettingType.format(d);
            }
            if (type == SettingType.SIZE) {
                long bytes = ((Number) value).longValue();
                String[] units = {"TiB", "GiB", "MiB", "KiB"};
                for (int i = 0; i < units.length; i++) {
                    long unit = 1L << (10 * (units.length - i));
                    if (bytes >= unit && bytes % unit == 0) {
                        return bytes / unit + units[i];
                    }
                }
            }
            return String.valueOf(value); // a Secret prints masked
        }

        private static String range(long least, long most) {
            if (most == Long.MAX_VALUE) {
                return "at least " + least;
            }
            return "between " + least + " and " + most;
        }
    }

    /** Every setting, section by section, in declaration order. */
    public List<Definition> all() {
        return all;
    }

    public Optional<Definition> find(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** The sections ({@code http}, {@code ingest}, ...), in order. */
    public List<String> sections() {
        return all.stream().map(Definition::section).distinct().toList();
    }

    /** The settings of a project that sets {@code values} (typed by {@link Definition#parse}) in {@code profile}. */
    public T bind(Map<String, Object> values, String profile) {
        RecordComponent[] sections = root.getRecordComponents();
        Object[] sectionValues = new Object[sections.length];
        for (int i = 0; i < sections.length; i++) {
            Class<?> type = sections[i].getType();
            RecordComponent[] components = type.getRecordComponents();
            Object[] args = new Object[components.length];
            for (int j = 0; j < components.length; j++) {
                Definition d = byName.get(sectionName(sections[i]) + "." + snake(components[j].getName()));
                args[j] = values.containsKey(d.name()) ? values.get(d.name()) : d.defaultValue(profile);
            }
            sectionValues[i] = construct(type, args);
        }
        return root.cast(construct(root, sectionValues));
    }

    /** The defaults of {@code profile}. */
    public T defaults(String profile) {
        return bind(Map.of(), profile);
    }

    /** Every setting's value in {@code settings}, keyed by name, secrets masked. */
    public Map<String, String> describe(T settings) {
        Map<String, String> shown = new LinkedHashMap<>();
        for (RecordComponent section : root.getRecordComponents()) {
            Object sectionValue = invoke(section, settings);
            for (RecordComponent component : section.getType().getRecordComponents()) {
                Definition d = byName.get(sectionName(section) + "." + snake(component.getName()));
                shown.put(d.name(), d.shown(invoke(component, sectionValue)));
            }
        }
        return shown;
    }

    /** The reference, a Markdown table: {@code watershed config} prints it and {@code docs/configuration.md} holds it. */
    public String reference() {
        StringBuilder out = new StringBuilder("| Key | Type | Default | Description |\n|---|---|---|---|\n");
        for (Definition d : all) {
            out.append("| `").append(d.name()).append("` | ").append(d.typeShown()).append(" | `").append(d.defaultShown()).append("` | ")
                    .append(d.doc()).append(d.sensitive() ? " Shown masked everywhere." : "").append(" |\n");
        }
        return out.toString();
    }

    private static List<Definition> read(Class<? extends Record> root) {
        List<Definition> all = new ArrayList<>();
        for (RecordComponent section : root.getRecordComponents()) {
            if (!section.getType().isRecord()) {
                throw new IllegalStateException(root.getSimpleName() + "." + section.getName() + " must be a section record");
            }
            for (RecordComponent component : section.getType().getRecordComponents()) {
                Setting declaration = component.getAnnotation(Setting.class);
                String where = section.getType().getSimpleName() + "." + component.getName();
                if (declaration == null) {
                    throw new IllegalStateException(where + " has no @Setting declaration");
                }
                Class<?> javaType = component.getType();
                boolean optional = javaType == Optional.class;
                if (optional && !(component.getGenericType() instanceof ParameterizedType p && p.getActualTypeArguments()[0] == String.class)) {
                    throw new IllegalStateException(where + ": only Optional<String> settings are supported");
                }
                SettingType type = typeOf(javaType, declaration, where);
                Definition partial = new Definition(sectionName(section), snake(component.getName()), type, javaType, optional, declaration,
                        component, null, null);
                Object local = defaultOf(partial, declaration.value(), where);
                Object other = declaration.otherProfiles().equals(Setting.NONE) ? local : defaultOf(partial, declaration.otherProfiles(), where);
                all.add(new Definition(partial.section(), partial.leaf(), type, javaType, optional, declaration, component, local, other));
            }
        }
        return List.copyOf(all);
    }

    private static SettingType typeOf(Class<?> javaType, Setting declaration, String where) {
        if (declaration.size() && javaType != int.class && javaType != long.class) {
            throw new IllegalStateException(where + ": a size must be an int or a long");
        }
        if (javaType == int.class || javaType == long.class) {
            return declaration.size() ? SettingType.SIZE : SettingType.INTEGER;
        }
        if (javaType == boolean.class) {
            return SettingType.BOOLEAN;
        }
        if (javaType == Duration.class) {
            return SettingType.DURATION;
        }
        if (javaType == Secret.class) {
            return SettingType.SECRET;
        }
        if (javaType == String.class || javaType == Optional.class) {
            return SettingType.STRING;
        }
        throw new IllegalStateException(where + ": settings of type " + javaType.getSimpleName() + " are not supported");
    }

    private static Object defaultOf(Definition definition, String text, String where) {
        try {
            return definition.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(where + ": the default does not validate: " + e.getMessage(), e);
        }
    }

    private static String sectionName(RecordComponent section) {
        return snake(section.getName());
    }

    /** {@code maxBody} is written {@code max_body}. */
    static String snake(String camel) {
        StringBuilder out = new StringBuilder();
        for (char c : camel.toCharArray()) {
            if (Character.isUpperCase(c)) {
                out.append('_').append(Character.toLowerCase(c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static Setting.Check check(Class<? extends Setting.Check> type) {
        try {
            return type.getConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(type.getName() + " needs a public constructor without arguments", e);
        }
    }

    private static Object construct(Class<?> record, Object[] args) {
        Class<?>[] types = Arrays.stream(record.getRecordComponents()).map(RecordComponent::getType).toArray(Class<?>[]::new);
        try {
            Constructor<?> constructor = record.getDeclaredConstructor(types);
            constructor.trySetAccessible();
            return constructor.newInstance(args);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Cannot build " + record.getSimpleName(), e);
        }
    }

    private static Object invoke(RecordComponent component, Object target) {
        try {
            java.lang.reflect.Method accessor = component.getAccessor();
            accessor.trySetAccessible();
            return accessor.invoke(target);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Cannot read " + component.getName(), e);
        }
    }
}
