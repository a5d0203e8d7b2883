package io.watershed.schedule;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.WatershedException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The project's models as a graph of who reads whom: their dependency order, the selection of a run
 * ({@code name}, {@code name+}, {@code +name}) and the models up- and downstream of one. Immutable.
 */
final class ModelGraph {
    private final Map<String, ModelSpec> models;
    private final List<String> order;

    ModelGraph(Map<String, ModelSpec> models) {
        this.models = Map.copyOf(models);
        this.order = dependencyOrder(models);
    }

    /** Model names, each after the models it reads. */
    List<String> order() {
        return order;
    }

    boolean contains(String name) {
        return models.containsKey(name);
    }

    /** The model of that name; null when the project lacks it (see {@link #model} for the checked lookup). */
    ModelSpec get(String name) {
        return models.get(name);
    }

    /**
     * The model of that name.
     *
     * @throws WatershedException UNKNOWN_MODEL when the project lacks it
     */
    ModelSpec model(String name) {
        ModelSpec model = models.get(name);
        if (model == null) {
            throw new WatershedException(ErrorCode.UNKNOWN_MODEL, "Cannot find model '" + name + "': the project has "
                    + (models.isEmpty() ? "no models (files models/<name>.sql)" : String.join(", ", order)));
        }
        return model;
    }

    /** The models a run of these selectors builds; none selects every model. UNKNOWN_MODEL for a name the project lacks. */
    Set<String> select(Collection<String> selectors) {
        Set<String> selected = new HashSet<>();
        if (selectors.isEmpty()) {
            selected.addAll(models.keySet());
        }
        for (String selector : selectors) {
            boolean down = selector.endsWith("+");
            boolean up = selector.startsWith("+");
            String name = selector.substring(up ? 1 : 0, selector.length() - (down ? 1 : 0));
            model(name);
            selected.add(name);
            if (down) {
                selected.addAll(downstreamOf(name));
            }
            if (up) {
                selected.addAll(upstreamOf(name));
            }
        }
        return selected;
    }

    /** Every model that reads {@code name}, directly or through others. */
    Set<String> downstreamOf(String name) {
        Set<String> found = new LinkedHashSet<>();
        boolean grew = true;
        while (grew) {
            grew = false;
            for (ModelSpec m : models.values()) {
                if (!found.contains(m.name()) && m.upstreamModels().stream().anyMatch(u -> u.equals(name) || found.contains(u))) {
                    grew = found.add(m.name());
                }
            }
        }
        return found;
    }

    /** Every model {@code name} reads, directly or through others. */
    Set<String> upstreamOf(String name) {
        Set<String> found = new LinkedHashSet<>();
        List<String> todo = new ArrayList<>(models.get(name).upstreamModels());
        while (!todo.isEmpty()) {
            String next = todo.remove(todo.size() - 1);
            if (found.add(next)) {
                todo.addAll(models.get(next).upstreamModels());
            }
        }
        return found;
    }

    /** Model names, each after the models it reads (the project loader has refused cycles). */
    private static List<String> dependencyOrder(Map<String, ModelSpec> models) {
        List<String> order = new ArrayList<>();
        Set<String> placed = new HashSet<>();
        List<String> waiting = new ArrayList<>(new TreeSet<>(models.keySet()));
        while (!waiting.isEmpty()) {
            boolean progress = false;
            for (Iterator<String> it = waiting.iterator(); it.hasNext(); ) {
                String name = it.next();
                if (placed.containsAll(models.get(name).upstreamModels())) {
                    order.add(name);
                    placed.add(name);
                    it.remove();
                    progress = true;
                }
            }
            if (!progress) {
                throw new IllegalArgumentException("models in a cycle: " + waiting);
            }
        }
        return List.copyOf(order);
    }
}
