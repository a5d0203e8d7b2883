package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.util.List;

/** The HTTP event API passes the source conformance suite: malformed input is refused at once with line and column. */
class HttpSourceIT extends SourceConformance {
    @Override
    String streamBody(Path root) {
        return "";
    }

    @Override
    void send(List<String> events) {
        WatershedHttp.Response r = http.events("conf", String.join("\n", events));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
    }

    @Override
    Undecodable sendUndecodable() {
        WatershedHttp.Response r = http.events("conf", "{\"id\":\"bad\",\n \"n\": }");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().path("error").path("line").asInt()).isEqualTo(2);
        return new Undecodable(true, r.json().path("error").path("message").asText());
    }

    @Override
    String undecodableMetric() {
        return "watershed_ingest_requests_rejected_total{reason=\"malformed\",stream=\"conf\"}";
    }
}
