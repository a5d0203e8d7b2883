package io.watershed.it;

/** A cdc source (PostgreSQL, Debezium) passes the source conformance suite. */
class CdcSourceIT extends DatabaseConformance {
    @Override
    String sourceType() {
        return "cdc";
    }

    @Override
    String source(String url) {
        return "type: cdc\nurl: " + url + "\nuser: postgres\npassword: " + PASSWORD + "\ntable: public.conf\n";
    }

    @Override
    void afterInsert() {
        // changes arrive by themselves
    }
}
