package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

/** A jdbc source (incremental by a sequence column) passes the source conformance suite. */
class JdbcSourceIT extends DatabaseConformance {
    @Override
    String sourceType() {
        return "jdbc";
    }

    @Override
    String source(String url) {
        return "type: jdbc\nurl: " + url + "\nuser: postgres\npassword: " + PASSWORD + "\ntable: public.conf\ncolumn: seq\n"
                + "schedule: '@daily'\nbatch_rows: 120\n";
    }

    @Override
    void afterInsert() {
        assertThat(http.post("/v1/sources/conf.jdbc/run", new byte[0]).status()).isEqualTo(202);
    }
}
