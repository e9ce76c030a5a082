package io.twinserve.engine.live;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.twin.adapters.AdapterCache;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live loop's adapter copies: reads adapters from storage into host memory and copies them into
 * the backend's slots, following what the twin's adapter cache decided. Loop thread only.
 */
final class AdapterTiers {
    private static final Logger LOG = LoggerFactory.getLogger(AdapterTiers.class);

    /** Hears of an adapter that failed to load, to end the requests that need it. */
    @FunctionalInterface
    interface FailureSink {
        void adapterFailed(int adapter, String message);
    }

    /**
     * Load times for the twin's adapter cache under the live loop: none, because real loads take real time
     * inside the step; the cache only decides what moves where.
     */
    static final AdapterCache.LoadTimes INSTANT = AdapterCache.LoadTimes.fixed(0, 0);

    private final Backend backend;
    private final ModelConfig model;
    private final AdapterCache cache;
    private final AdapterRegistry registry;
    private final Map<Integer, LoraAdapter> hostTier = new HashMap<>();
    private final int[] loadedInSlot;
    long storageLoads;
    long slotLoads;
    long loadNs;

    /** Names of the adapters now in the backend's slots and in host memory. */
    List<String>[] residentNames() {
        List<String> slots = new ArrayList<>();
        for (int a : loadedInSlot) {
            if (a >= 0) {
                slots.add(registry.get(a).name());
            }
        }
        List<String> host = new ArrayList<>();
        for (int a : hostTier.keySet()) {
            host.add(registry.get(a).name());
        }
        @SuppressWarnings("unchecked")
        List<String>[] out = new List[] {slots, host};
        return out;
    }

    AdapterTiers(Backend backend, AdapterCache cache, AdapterRegistry registry) {
        this.backend = backend;
        this.model = backend.config();
        this.cache = cache;
        this.registry = registry;
        this.loadedInSlot = new int[backend.adapterSlots()];
        Arrays.fill(loadedInSlot, -1);
    }

    /**
     * Moves adapters that running requests hold into the slots the cache assigned: from host memory, or
     * from storage first. A failed load goes to {@code failures}; the cache still places the adapter, so
     * a later request for it tries the load again.
     */
    void load(FailureSink failures) {
        for (int slot = 0; slot < loadedInSlot.length; slot++) {
            int a = cache.adapterInSlot(slot);
            // a slot left to an adapter nobody holds (its load failed) waits for the next request to need it
            if (a < 0 || loadedInSlot[slot] == a || cache.refs(a) == 0) {
                continue;
            }
            long t0 = System.nanoTime();
            AdapterRegistry.Entry entry = registry.get(a);
            try {
                LoraAdapter host = hostTier.get(a);
                if (host == null) {
                    host = entry.loader().load(entry.name(), model);
                    hostTier.put(a, host);
                    storageLoads++;
                }
                // if the copy fails half-way, the slot holds nothing usable
                loadedInSlot[slot] = -1;
                backend.loadAdapter(slot, host);
                loadedInSlot[slot] = a;
                slotLoads++;
            } catch (RuntimeException e) {
                LOG.warn("adapter '{}' failed to load; ending the requests that need it", entry.name(), e);
                failures.adapterFailed(a, "adapter '" + entry.name() + "' failed to load: " + e.getMessage());
            }
            loadNs += System.nanoTime() - t0;
        }
        // the host tier holds exactly what the adapter cache says it holds
        hostTier.keySet().removeIf(a -> !cache.inCpu(a) && cache.slotOf(a) < 0);
    }
}
