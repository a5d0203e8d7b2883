package io.watershed.ingest.forward;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.SourceSpec;
import io.watershed.spi.StreamSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TagRouterTest {
    static StreamSpec stream(String name, String... tags) {
        return new StreamSpec(name, 1, Optional.empty(), Optional.empty(), Duration.ofSeconds(5), Optional.empty(), Map.of(),
                StreamSpec.Lifecycle.NONE, List.of(new SourceSpec.Forward(List.of(tags), Optional.of("tag"), Optional.of("time"))));
    }

    @Test
    void matchesLikeFluentd() {
        assertThat(TagRouter.compile("a.*").matcher("a.b").matches()).isTrue();
        assertThat(TagRouter.compile("a.*").matcher("a.b.c").matches()).isFalse();
        assertThat(TagRouter.compile("a.*").matcher("a").matches()).isFalse();
        assertThat(TagRouter.compile("a.**").matcher("a").matches()).isTrue();
        assertThat(TagRouter.compile("a.**").matcher("a.b.c").matches()).isTrue();
        assertThat(TagRouter.compile("a.**").matcher("ab").matches()).isFalse();
        assertThat(TagRouter.compile("**.z").matcher("z").matches()).isTrue();
        assertThat(TagRouter.compile("**.z").matcher("x.y.z").matches()).isTrue();
        assertThat(TagRouter.compile("a.{b,c}").matcher("a.c").matches()).isTrue();
        assertThat(TagRouter.compile("a.{b,c}").matcher("a.d").matches()).isFalse();
        assertThat(TagRouter.compile("a.{b,c.**}").matcher("a.c.d.e").matches()).isTrue();
        assertThat(TagRouter.compile("a-b.c_d").matcher("a-b.c_d").matches()).isTrue();
        assertThat(TagRouter.compile("a.b").matcher("aXb").matches()).as("a dot is a dot").isFalse();
        assertThat(TagRouter.compile("**").matcher("anything.at.all").matches()).isTrue();
    }

    @Test
    void exactPatternsWinThenTheStreamsOrder() {
        TagRouter router = new TagRouter(List.of(stream("everything", "app.**"), stream("web", "app.web"), stream("api", "app.*")), false);
        assertThat(router.route("app.web")).map(TagRouter.Route::stream).contains("web");
        assertThat(router.route("app.api")).map(TagRouter.Route::stream).contains("everything");
        assertThat(router.route("other")).isEmpty();
    }

    @Test
    void anUndeclaredTagNamesItsStreamWhenStreamsAreCreatedOnFirstUse() {
        TagRouter router = new TagRouter(List.of(stream("web", "app.web")), true);
        assertThat(router.route("Docker.Nginx-1")).map(TagRouter.Route::stream).contains("docker_nginx_1");
        assertThat(router.route("9lives")).as("not a valid stream name").isEmpty();
        assertThat(TagRouter.streamNameOf("..a..b..")).isEqualTo("a_b");
    }
}
