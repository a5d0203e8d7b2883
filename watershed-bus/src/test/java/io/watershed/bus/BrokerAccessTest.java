package io.watershed.bus;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.bus.BrokerAccess.ClientAccess;
import io.watershed.bus.BrokerAccess.TopicAccess;
import java.util.List;
import org.apache.kafka.common.resource.PatternType;
import org.junit.jupiter.api.Test;

/** On a Kafka cluster others use too, a grant's pattern becomes literal ACLs on this project's topics only. */
class BrokerAccessTest {
    private static final List<String> PROJECT = List.of("orders", "order_lines", "payroll", "watershed_audit");

    @Test
    void anAdminsAccessIsEveryProjectTopicByNameNeverAWildcard() {
        ClientAccess admin = BrokerAccess.confined(new ClientAccess("admin.", List.of(), true), PROJECT);
        assertThat(admin.all()).isFalse();
        assertThat(admin.topics()).extracting(TopicAccess::name).containsExactlyInAnyOrder("orders", "order_lines", "payroll");
        assertThat(BrokerAccess.bindings("wst_admin", admin)).allSatisfy(b -> {
            assertThat(b.pattern().name()).isNotEqualTo("*");
            if (b.pattern().resourceType() == org.apache.kafka.common.resource.ResourceType.TOPIC) {
                assertThat(b.pattern().patternType()).isEqualTo(PatternType.LITERAL);
            }
        });
    }

    @Test
    void aPrefixOrANameOutsideTheProjectReachesOnlyTheProjectsTopics() {
        ClientAccess writer = BrokerAccess.confined(new ClientAccess("w.", List.of(new TopicAccess("order", true, false, true),
                new TopicAccess("other_teams_topic", false, true, false)), false), PROJECT);
        assertThat(writer.topics()).containsExactlyInAnyOrder(new TopicAccess("orders", false, false, true),
                new TopicAccess("order_lines", false, false, true));
    }
}
