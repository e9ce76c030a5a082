package io.twinserve.engine.live;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The adapters a live loop may serve. Each registration gets a new index in the adapter cache, so an
 * adapter registered again under a name it had before never reuses the old copy's KV blocks or slot;
 * a name maps to its latest registration until it is unregistered. Thread-safe.
 */
final class AdapterRegistry {
    /** One registration: what the loop needs to price and load the adapter. */
    record Entry(String name, int rank, AdapterLoader loader) {}

    private final int maxRank;
    private final int slots;
    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, Integer> current = new LinkedHashMap<>();

    AdapterRegistry(int maxRank, int slots) {
        this.maxRank = maxRank;
        this.slots = slots;
    }

    synchronized void register(String name, int rank, AdapterLoader loader) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("an adapter needs a non-blank name");
        }
        if (slots == 0) {
            throw new IllegalArgumentException(
                    "cannot register adapter '" + name + "': the backend has no adapter slots" + " (max_adapters 0)");
        }
        if (rank < 1 || rank > maxRank) {
            throw new IllegalArgumentException("adapter '" + name + "' has rank " + rank + "; the backend's slots hold"
                    + " ranks 1 to " + maxRank + " (max_adapter_rank)");
        }
        if (current.containsKey(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' is already registered");
        }
        current.put(name, entries.size());
        entries.add(new Entry(name, rank, loader));
    }

    synchronized void unregister(String name) {
        if (current.remove(name) == null) {
            throw new IllegalArgumentException("adapter '" + name + "' is not registered; known: " + current.keySet());
        }
    }

    /** The index of the name's current registration; throws when it has none. */
    synchronized int indexOf(String name) {
        Integer index = current.get(name);
        if (index == null) {
            throw new IllegalArgumentException("adapter '" + name + "' is not registered; known: " + current.keySet());
        }
        return index;
    }

    synchronized Entry get(int index) {
        return entries.get(index);
    }

    /** Registrations so far, unregistered ones included (the adapter cache's index space). */
    synchronized int size() {
        return entries.size();
    }

    synchronized List<String> names() {
        return List.copyOf(current.keySet());
    }
}
