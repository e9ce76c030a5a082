package io.twinserve.twin.adapters;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The cache's eviction against the rule it implements, written plainly: the first empty slot, else the
 * least recently used slot no running sequence uses, where a slot is used when a sequence takes it and until its
 * last sequence lets it go (as vLLM touches the adapters of every step's batch). Random acquires and releases,
 * slot by slot.
 */
class AdapterCacheEvictionPropertyTest {
    private static final AdapterCache.LoadTimes TIMES = AdapterCache.LoadTimes.fixed(1, 0);

    @Property(tries = 200)
    void evictsTheLeastRecentlyUsedIdleSlot(
            @ForAll @IntRange(min = 1, max = 12) int slots,
            @ForAll @IntRange(min = 1, max = 40) int adapters,
            @ForAll long seed) {
        AdapterCache cache = new AdapterCache(slots, adapters, adapters, TIMES);
        int[] slotAdapter = new int[slots];
        int[] refs = new int[slots];
        long[] lastUse = new long[slots];
        Arrays.fill(slotAdapter, -1);
        long tick = 0;
        List<Integer> held = new ArrayList<>();
        SplittableRandom rng = new SplittableRandom(seed);
        for (int op = 0; op < 2_000; op++) {
            if (!held.isEmpty() && (rng.nextInt(3) == 0 || !cache.hasReplaceableSlot())) {
                int adapter = held.remove(rng.nextInt(held.size()));
                cache.release(adapter);
                int slot = slotOfReference(slotAdapter, adapter);
                if (--refs[slot] == 0) {
                    // its last use: the step its last sequence ran
                    lastUse[slot] = ++tick;
                }
                continue;
            }
            int adapter = rng.nextInt(adapters);
            int slot = slotOfReference(slotAdapter, adapter);
            if (slot < 0) {
                if (!cache.canUse(adapter)) {
                    continue;
                }
                slot = -1;
                for (int s = 0; s < slots && slot < 0; s++) {
                    if (slotAdapter[s] == -1) {
                        slot = s;
                    }
                }
                if (slot < 0) {
                    for (int s = 0; s < slots; s++) {
                        if (refs[s] == 0 && (slot < 0 || lastUse[s] < lastUse[slot])) {
                            slot = s;
                        }
                    }
                }
                slotAdapter[slot] = adapter;
            }
            cache.acquire(adapter, op);
            refs[slot]++;
            lastUse[slot] = ++tick;
            held.add(adapter);
            for (int s = 0; s < slots; s++) {
                assertThat(cache.adapterInSlot(s))
                        .as("slot %d after op %d", s, op)
                        .isEqualTo(slotAdapter[s]);
            }
        }
    }

    private static int slotOfReference(int[] slotAdapter, int adapter) {
        for (int s = 0; s < slotAdapter.length; s++) {
            if (slotAdapter[s] == adapter) {
                return s;
            }
        }
        return -1;
    }
}
