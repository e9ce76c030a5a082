package io.twinserve.twin.adapters;

import java.util.Arrays;

/**
 * Where each adapter is: in one of {@code gpuSlots} GPU slots, in the host-memory tier of
 * {@code cpuSlots} adapters, or only in storage.
 *
 * <p>A slot in use by a running sequence is never evicted; among unused slots the least recently used
 * goes first. The host tier is LRU too. Adapters are indices 0..n-1; -1 is the base model, which needs
 * no slot. A load returns its duration: host to GPU, plus storage to host when the adapter is not in the
 * host tier. Load times come from the caller's {@link LoadTimes}.
 */
public final class AdapterCache {
    private static final int NONE = -1;

    /** Prices adapter loads. */
    public interface LoadTimes {
        long fromCpuNs(int adapter);

        long fromStorageNs(int adapter);

        /** The same load times for every adapter: {@code cpuNs} from host memory, {@code storageNs} from storage. */
        static LoadTimes fixed(long cpuNs, long storageNs) {
            return new LoadTimes() {
                @Override
                public long fromCpuNs(int adapter) {
                    return cpuNs;
                }

                @Override
                public long fromStorageNs(int adapter) {
                    return storageNs;
                }
            };
        }
    }

    private final int gpuSlots;
    private final int cpuSlots;
    private final LoadTimes loadTimes;
    private final int[] slotAdapter;
    private final int[] slotRefs;
    // slots whose adapter some running sequence uses (slotRefs > 0); every other slot is replaceable
    private int busySlots;
    private final long[] slotLastUse;
    // the replaceable slots holding an adapter, least recently used first: a binary heap on slotLastUse
    // (hand-written, indexed by slot, so that a slot taken up again leaves it in O(log slots); a scan of
    // every slot per load was a tenth of a light-load simulation)
    private final int[] idleHeap;
    private final int[] heapPos;
    private int idleCount;
    private final long[] slotReadyNs;
    private int[] slotOf;
    private long[] cpuLastUse;
    private boolean[] inCpu;
    private int cpuCount;
    private long tick;
    private long loads;
    private long storageLoads;
    private long loadNs;
    private int resident;

    public AdapterCache(int gpuSlots, int cpuSlots, int adapters, LoadTimes loadTimes) {
        this.gpuSlots = gpuSlots;
        this.cpuSlots = cpuSlots;
        this.loadTimes = loadTimes;
        this.slotAdapter = new int[gpuSlots];
        this.slotRefs = new int[gpuSlots];
        this.slotLastUse = new long[gpuSlots];
        this.slotReadyNs = new long[gpuSlots];
        this.idleHeap = new int[gpuSlots];
        this.heapPos = new int[gpuSlots];
        Arrays.fill(heapPos, NONE);
        Arrays.fill(slotAdapter, NONE);
        this.slotOf = new int[Math.max(1, adapters)];
        Arrays.fill(slotOf, NONE);
        this.cpuLastUse = new long[Math.max(1, adapters)];
        this.inCpu = new boolean[Math.max(1, adapters)];
    }

    public int gpuSlots() {
        return gpuSlots;
    }

    /** GPU slots holding an adapter (in use or not). */
    public int residentAdapters() {
        return resident;
    }

    public boolean isResident(int adapter) {
        return adapter < 0 || slotOf[adapter] != NONE;
    }

    /** Whether the adapter is resident and its load has finished by {@code nowNs}. */
    public boolean isReady(int adapter, long nowNs) {
        return adapter < 0 || (slotOf[adapter] != NONE && slotReadyNs[slotOf[adapter]] <= nowNs);
    }

    /** When a resident adapter's load finishes (0 for the base model or a loaded adapter). */
    public long readyNs(int adapter) {
        return adapter < 0 || slotOf[adapter] == NONE ? 0 : slotReadyNs[slotOf[adapter]];
    }

    /** Whether a slot is free or holds an adapter no running sequence uses. */
    public boolean hasReplaceableSlot() {
        return busySlots < gpuSlots;
    }

    /** Whether a sequence of this adapter can be scheduled now, possibly after loading it. */
    public boolean canUse(int adapter) {
        return adapter < 0 || slotOf[adapter] != NONE || hasReplaceableSlot();
    }

    /**
     * Takes a reference on the adapter for a running sequence, loading it if needed (evicting the least
     * recently used unused slot). Returns the load's duration in ns (0 when resident); the slot is ready
     * at {@code nowNs} plus that duration.
     */
    public long acquire(int adapter, long nowNs) {
        if (adapter < 0) {
            return 0;
        }
        tick++;
        int s = slotOf[adapter];
        long duration = 0;
        if (s == NONE) {
            s = victim();
            if (s == NONE) {
                throw new IllegalStateException("no slot for adapter " + adapter + ": all " + gpuSlots + " in use");
            }
            if (slotAdapter[s] == NONE) {
                resident++;
            } else {
                slotOf[slotAdapter[s]] = NONE;
            }
            duration = load(adapter);
            slotAdapter[s] = adapter;
            slotOf[adapter] = s;
            slotReadyNs[s] = nowNs + duration;
        }
        if (slotRefs[s]++ == 0) {
            busySlots++;
            if (heapPos[s] != NONE) {
                removeIdle(s);
            }
        }
        slotLastUse[s] = tick;
        // every use refreshes the host copy too (vLLM touches its CPU LRU on each activation), so that an
        // adapter kept busy in a GPU slot is not the first to leave host memory once it leaves the GPU
        cpuLastUse[adapter] = tick;
        return duration;
    }

    /**
     * Drops a running sequence's reference. When it was the adapter's last, the adapter's slot becomes
     * replaceable, with its last use now: vLLM touches the slots' and the host tier's LRU for every adapter of
     * every step's batch, so an adapter's recency is the last step one of its sequences ran, not when its last
     * sequence was admitted (two adapters whose requests overlap leave in the order their last requests end).
     */
    public void release(int adapter) {
        if (adapter < 0) {
            return;
        }
        int s = slotOf[adapter];
        if (s == NONE || slotRefs[s] == 0) {
            throw new IllegalStateException("adapter " + adapter + " released but not in use");
        }
        if (--slotRefs[s] == 0) {
            busySlots--;
            tick++;
            slotLastUse[s] = tick;
            cpuLastUse[adapter] = tick;
            addIdle(s);
        }
    }

    /**
     * Grows the adapter index space (for adapters first seen in a trace); with {@code preload} the new
     * adapters start in the host tier while it has room.
     */
    public void ensureAdapters(int count, boolean preload) {
        ensureAdapters(count);
        if (preload) {
            for (int a = 0; a < count && cpuCount < cpuSlots; a++) {
                if (!inCpu[a]) {
                    inCpu[a] = true;
                    cpuCount++;
                }
            }
        }
    }

    /** Grows the adapter index space (for adapters first seen in a trace). */
    public void ensureAdapters(int count) {
        if (count > slotOf.length) {
            // doubled, not grown to the count: a trace meets its adapters one by one, and growing by one each time
            // copied the arrays once per adapter (entries past the count stay out of every slot and of host memory)
            int old = slotOf.length;
            int n = Math.max(count, old * 2);
            slotOf = Arrays.copyOf(slotOf, n);
            Arrays.fill(slotOf, old, n, NONE);
            cpuLastUse = Arrays.copyOf(cpuLastUse, n);
            inCpu = Arrays.copyOf(inCpu, n);
        }
    }

    /** The first empty slot (slots fill in order and never empty), else the least recently used idle one. */
    private int victim() {
        if (resident < gpuSlots) {
            return resident;
        }
        return idleCount == 0 ? NONE : idleHeap[0];
    }

    private void addIdle(int slot) {
        int i = idleCount++;
        idleHeap[i] = slot;
        heapPos[slot] = i;
        siftUp(i);
    }

    private void removeIdle(int slot) {
        int i = heapPos[slot];
        heapPos[slot] = NONE;
        int last = idleHeap[--idleCount];
        if (i == idleCount) {
            return;
        }
        idleHeap[i] = last;
        heapPos[last] = i;
        siftUp(i);
        siftDown(heapPos[last]);
    }

    private void siftUp(int i) {
        int slot = idleHeap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            int p = idleHeap[parent];
            if (slotLastUse[p] <= slotLastUse[slot]) {
                break;
            }
            idleHeap[i] = p;
            heapPos[p] = i;
            i = parent;
        }
        idleHeap[i] = slot;
        heapPos[slot] = i;
    }

    private void siftDown(int i) {
        int slot = idleHeap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= idleCount) {
                break;
            }
            if (child + 1 < idleCount && slotLastUse[idleHeap[child + 1]] < slotLastUse[idleHeap[child]]) {
                child++;
            }
            int c = idleHeap[child];
            if (slotLastUse[slot] <= slotLastUse[c]) {
                break;
            }
            idleHeap[i] = c;
            heapPos[c] = i;
            i = child;
        }
        idleHeap[i] = slot;
        heapPos[slot] = i;
    }

    private long load(int adapter) {
        long ns = loadTimes.fromCpuNs(adapter);
        loads++;
        if (!inCpu[adapter]) {
            ns += loadTimes.fromStorageNs(adapter);
            storageLoads++;
            if (cpuCount >= cpuSlots) {
                evictCpu();
            }
            inCpu[adapter] = true;
            cpuCount++;
        }
        cpuLastUse[adapter] = tick;
        loadNs += ns;
        return ns;
    }

    private void evictCpu() {
        int victim = NONE;
        for (int a = 0; a < inCpu.length; a++) {
            // an adapter in a GPU slot keeps its host copy
            if (inCpu[a] && slotOf[a] == NONE && (victim == NONE || cpuLastUse[a] < cpuLastUse[victim])) {
                victim = a;
            }
        }
        if (victim != NONE) {
            inCpu[victim] = false;
            cpuCount--;
        }
    }

    public long loads() {
        return loads;
    }

    public long storageLoads() {
        return storageLoads;
    }

    public long loadNs() {
        return loadNs;
    }

    /** The GPU slot holding an adapter, or -1 (also for the base model). */
    public int slotOf(int adapter) {
        return adapter < 0 ? NONE : slotOf[adapter];
    }

    /** Whether an adapter has a host-memory copy (the CPU tier). */
    public boolean inCpu(int adapter) {
        return adapter >= 0 && inCpu[adapter];
    }

    /** The adapter in a GPU slot, or -1. */
    public int adapterInSlot(int slot) {
        return slotAdapter[slot];
    }

    public int refs(int adapter) {
        return adapter < 0 || slotOf[adapter] == NONE ? 0 : slotRefs[slotOf[adapter]];
    }

    /** Distinct adapters held by running sequences (for invariant checks). */
    public int adaptersInUse() {
        int n = 0;
        for (int s = 0; s < gpuSlots; s++) {
            if (slotAdapter[s] != NONE && slotRefs[s] > 0) {
                n++;
            }
        }
        return n;
    }
}
