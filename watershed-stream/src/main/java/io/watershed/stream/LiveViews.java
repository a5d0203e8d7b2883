package io.watershed.stream;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The live views of one pipeline runner, reachable from its sink writers: the MiniCluster runs in
 * this JVM, and its tasks find the runner's views here by the runner's id (a connector option).
 */
final class LiveViews {
    private static final Map<String, LiveViews> RUNNERS = new ConcurrentHashMap<>();

    private final String id;
    private final Map<String, LiveView> views = new ConcurrentSkipListMap<>();

    private LiveViews(String id) {
        this.id = id;
    }

    static LiveViews open(String id) {
        LiveViews views = new LiveViews(id);
        if (RUNNERS.putIfAbsent(id, views) != null) {
            throw new IllegalStateException("Live views '" + id + "' are open already");
        }
        return views;
    }

    /** The view a sink writer feeds. */
    static LiveView find(String runner, String view) {
        LiveViews views = RUNNERS.get(runner);
        LiveView found = views == null ? null : views.views.get(view);
        if (found == null) {
            throw new IllegalStateException("Live view '" + view + "' is not defined in this platform (runner " + runner
                    + "); a live view's job runs only on the MiniCluster of the platform that planned it");
        }
        return found;
    }

    String id() {
        return id;
    }

    /** Adds a view; false when one of that name exists already. */
    boolean define(LiveView view) {
        return views.putIfAbsent(view.name(), view) == null;
    }

    Map<String, LiveView> views() {
        return views;
    }

    void close() {
        RUNNERS.remove(id, this);
    }
}
