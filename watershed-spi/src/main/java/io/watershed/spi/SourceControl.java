package io.watershed.spi;

import java.util.List;

/** The running sources as the API sees them: what each reports, and the one thing it may ask of a jdbc import. */
public interface SourceControl {

    /** Every running source's status: the forward listener first, then file, jdbc and cdc sources. */
    List<SourceStatus> statuses();

    /** Starts the jdbc source's import now; false if there is no jdbc source of that name. */
    boolean runImport(String name);
}
