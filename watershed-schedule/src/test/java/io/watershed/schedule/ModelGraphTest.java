package io.watershed.schedule;

import static io.watershed.schedule.ModelSchedulerTest.model;
import static io.watershed.schedule.ModelSchedulerTest.models;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The models' graph alone: dependency order and what a selector selects, without running anything. */
class ModelGraphTest {
    // a <- b <- d, a <- c; e stands alone
    private final ModelGraph graph = new ModelGraph(models(model("d", null, false, 0, "b"), model("b", null, false, 0, "a"),
            model("c", null, false, 0, "a"), model("a", null, false, 0), model("e", null, false, 0)));

    @Test
    void ordersEveryModelAfterTheModelsItReads() {
        List<String> order = graph.order();
        assertThat(order).containsExactlyInAnyOrder("a", "b", "c", "d", "e");
        assertThat(order.indexOf("a")).isLessThan(order.indexOf("b")).isLessThan(order.indexOf("c"));
        assertThat(order.indexOf("b")).isLessThan(order.indexOf("d"));
    }

    @Test
    void selectsNamesWithTheirDownstreamOrUpstreamModels() {
        assertThat(graph.select(List.of())).containsExactlyInAnyOrder("a", "b", "c", "d", "e");
        assertThat(graph.select(List.of("b"))).containsExactly("b");
        assertThat(graph.select(List.of("a+"))).containsExactlyInAnyOrder("a", "b", "c", "d");
        assertThat(graph.select(List.of("+d"))).containsExactlyInAnyOrder("a", "b", "d");
        assertThat(graph.downstreamOf("b")).containsExactly("d");
        assertThatThrownBy(() -> graph.select(List.of("nope+"))).hasMessage("Cannot find model 'nope': the project has a, b, c, "
                + "d, e");
    }
}
