package io.twinserve.twin.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AdapterCacheTest {
    /** Host-to-GPU loads cost 100 + adapter ns, storage-to-host loads 10,000 + adapter ns. */
    private static final AdapterCache.LoadTimes TIMES = new AdapterCache.LoadTimes() {
        @Override
        public long fromCpuNs(int adapter) {
            return 100 + adapter;
        }

        @Override
        public long fromStorageNs(int adapter) {
            return 10_000 + adapter;
        }
    };

    @Test
    void theBaseModelNeedsNoSlotAndNoLoad() {
        AdapterCache cache = new AdapterCache(1, 1, 2, TIMES);
        assertThat(cache.acquire(-1, 0)).isZero();
        assertThat(cache.isResident(-1)).isTrue();
        assertThat(cache.isReady(-1, 0)).isTrue();
        assertThat(cache.adapterInSlot(0)).isEqualTo(-1);
        assertThat(cache.loads()).isZero();
    }

    @Test
    void loadDurationsComeFromLoadTimesAndStorageLoadsAreCounted() {
        AdapterCache cache = new AdapterCache(2, 4, 4, TIMES);
        assertThat(cache.acquire(3, 1_000)).as("first load comes from storage").isEqualTo(10_003 + 103);
        assertThat(cache.readyNs(3)).isEqualTo(1_000 + 10_106);
        assertThat(cache.isReady(3, 11_105)).isFalse();
        assertThat(cache.isReady(3, 11_106)).isTrue();
        assertThat(cache.acquire(3, 2_000)).as("resident: no load").isZero();
        assertThat(cache.refs(3)).isEqualTo(2);
        assertThat(cache.loads()).isEqualTo(1);
        assertThat(cache.storageLoads()).isEqualTo(1);
        assertThat(cache.loadNs()).isEqualTo(10_106);
    }

    @Test
    void preloadedAdaptersLoadFromTheHostTierOnly() {
        AdapterCache cache = new AdapterCache(1, 2, 3, TIMES);
        cache.ensureAdapters(3, true);
        assertThat(cache.acquire(0, 0)).isEqualTo(100);
        cache.release(0);
        assertThat(cache.acquire(1, 0)).isEqualTo(101);
        cache.release(1);
        // adapter 2 did not fit the host tier of 2 when preloading
        assertThat(cache.acquire(2, 0)).isEqualTo(10_002 + 102);
        assertThat(cache.loads()).isEqualTo(3);
        assertThat(cache.storageLoads()).isEqualTo(1);
    }

    @Test
    void theHostTierIsLruAndEvictedAdaptersComeFromStorageAgain() {
        AdapterCache cache = new AdapterCache(1, 2, 3, TIMES);
        cache.acquire(0, 0);
        cache.release(0);
        cache.acquire(1, 0);
        cache.release(1);
        // host tier {0, 1}; loading 2 evicts 0 (least recently used) from the host tier
        cache.acquire(2, 0);
        cache.release(2);
        assertThat(cache.storageLoads()).isEqualTo(3);
        assertThat(cache.acquire(1, 0)).as("1 is still in host memory").isEqualTo(101);
        cache.release(1);
        assertThat(cache.acquire(0, 0)).as("0 was evicted from host memory").isEqualTo(10_000 + 100);
        assertThat(cache.loads()).isEqualTo(5);
        assertThat(cache.storageLoads()).isEqualTo(4);
    }

    @Test
    void theLeastRecentlyUsedUnusedSlotIsEvicted() {
        AdapterCache cache = new AdapterCache(3, 8, 8, TIMES);
        for (int a = 0; a < 3; a++) {
            cache.acquire(a, 0);
        }
        cache.release(1);
        cache.release(0);
        cache.acquire(0, 0);
        cache.release(0);
        // 0 and 1 are unused; 1 was used least recently; 2 is in use
        cache.acquire(5, 0);
        assertThat(cache.isResident(1)).isFalse();
        assertThat(cache.isResident(0)).isTrue();
        assertThat(cache.isResident(2)).isTrue();
        assertThat(cache.isResident(5)).isTrue();
        cache.acquire(6, 0);
        assertThat(cache.isResident(0)).isFalse();
        assertThat(cache.isResident(2)).as("in use, never evicted").isTrue();
    }

    /**
     * Recency is the last use, not the admission: A's request runs from 0 to 10, B's from 5 to 6; vLLM touches both
     * slots every step they run, so at 11 B was used least recently and goes first (by admission it would be A). The
     * host tier likewise.
     */
    @Test
    void theSlotWhoseLastSequenceEndedFirstGoesFirstWhateverWasAdmittedFirst() {
        AdapterCache cache = new AdapterCache(2, 2, 4, TIMES);
        int a = 0;
        int b = 1;
        cache.acquire(a, 0);
        cache.acquire(b, 5);
        cache.release(b); // at 6
        cache.release(a); // at 10
        cache.acquire(2, 11);
        assertThat(cache.isResident(b)).as("B, last used at 6").isFalse();
        assertThat(cache.isResident(a)).as("A, last used at 10").isTrue();
        // the host tier of 2 held {A, B}; loading 2 evicted the least recently used there too: B
        assertThat(cache.inCpu(b)).isFalse();
        assertThat(cache.inCpu(a)).isTrue();
    }

    @Test
    void anAdapterInUseIsNeverEvicted() {
        AdapterCache cache = new AdapterCache(2, 4, 4, TIMES);
        cache.acquire(0, 0);
        cache.acquire(1, 0);
        assertThat(cache.hasReplaceableSlot()).isFalse();
        assertThat(cache.canUse(2)).isFalse();
        assertThat(cache.canUse(1)).as("a resident adapter can always be used").isTrue();
        assertThat(cache.canUse(-1)).isTrue();
        assertThatThrownBy(() -> cache.acquire(2, 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("all 2 in use");
        assertThat(cache.isResident(0)).isTrue();
        assertThat(cache.isResident(1)).isTrue();
        assertThat(cache.adaptersInUse()).isEqualTo(2);

        cache.release(1);
        assertThat(cache.canUse(2)).isTrue();
        cache.acquire(2, 0);
        assertThat(cache.isResident(1)).isFalse();
        assertThat(cache.isResident(0)).isTrue();
    }

    @Test
    void releasingAnAdapterNotInUseIsAnError() {
        AdapterCache cache = new AdapterCache(1, 1, 2, TIMES);
        assertThatThrownBy(() -> cache.release(0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("adapter 0 released but not in use");
        cache.acquire(0, 0);
        cache.release(0);
        assertThatThrownBy(() -> cache.release(0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theIndexSpaceGrowsForAdaptersFirstSeenLater() {
        AdapterCache cache = new AdapterCache(1, 1, 1, TIMES);
        cache.ensureAdapters(40);
        assertThat(cache.isResident(39)).isFalse();
        assertThat(cache.acquire(39, 0)).isEqualTo(10_039 + 139);
        assertThat(cache.adapterInSlot(0)).isEqualTo(39);
    }

    @Test
    void theHostTierEvictsTheLeastRecentlyUsedAdapterCountingUsesFromAGpuSlot() {
        AdapterCache cache = new AdapterCache(2, 3, 4, TIMES);
        int a = 0;
        int b = 1;
        int c = 2;
        int d = 3;
        use(cache, a); // from storage
        use(cache, b); // from storage
        use(cache, a); // still in its GPU slot: no load, but a is now used more recently than b
        use(cache, c); // GPU slot of b (least recently used) goes to c; host tier {a, b, c}
        assertThat(cache.isResident(b)).isFalse();
        use(cache, d); // GPU slot of a goes to d; the host tier must drop one of a and b: b was used longest ago
        assertThat(cache.storageLoads()).isEqualTo(4);
        assertThat(cache.acquire(a, 0)).as("a stayed in host memory").isEqualTo(100);
        cache.release(a);
        assertThat(cache.acquire(b, 0)).as("b left host memory").isEqualTo(10_001 + 101);
    }

    private static void use(AdapterCache cache, int adapter) {
        cache.acquire(adapter, 0);
        cache.release(adapter);
    }
}
