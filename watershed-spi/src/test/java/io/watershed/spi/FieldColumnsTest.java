package io.watershed.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FieldColumnsTest {
    @Test
    void theDocOfARenamedColumnNamesItsFieldAndReadsBackExactly() {
        assertThat(FieldColumns.doc("http.status")).isEqualTo("Event field \"http.status\"");
        for (String field : List.of("http.status", "app.kubernetes.io/name", "say \"hi\"", "back\\slash\\", "\"", "tab\tnew\nline", "🌊.x")) {
            assertThat(FieldColumns.field(FieldColumns.doc(field))).as(field).contains(field);
        }
    }

    @Test
    void anyOtherDocNamesNoField() {
        for (String doc : new String[] {null, "", "Kafka offset of the event", "Event field \"", "Event field \"\"",
                "Event field \"a\" and more", "Event field \"a\"b\"", "Event field \"a\\\"", "Event field \"a\\x\"", "event field \"a\""}) {
            assertThat(FieldColumns.field(doc)).as(String.valueOf(doc)).isEmpty();
        }
        assertThat(FieldColumns.field("user", "The user's name")).isEqualTo("user");
        assertThat(FieldColumns.field("user_2", "Event field \"User\"")).isEqualTo("User");
    }

    @Test
    void fieldsKeepTheirNamesWhereTheyCanAndOthersTakeTheNextFreeSafeName() {
        assertThat(FieldColumns.name(List.of("a.b", "A_B", "a_b", "c", "c.d.", ".."), Set.of("_offset", "c_d_")))
                .containsExactly(java.util.Map.entry("a.b", "a_b_2"), java.util.Map.entry("A_B", "A_B"),
                        java.util.Map.entry("a_b", "a_b_3"), java.util.Map.entry("c", "c"), java.util.Map.entry("c.d.", "c_d__2"),
                        java.util.Map.entry("..", "__"));
    }
}
