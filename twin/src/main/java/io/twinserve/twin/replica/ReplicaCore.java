package io.twinserve.twin.replica;

import io.twinserve.traces.Request;
import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sched.SchedulerConfig;

/**
 * A replica's serving stack, assembled once for every loop that runs one: its scheduler over its paged KV
 * cache and its adapter cache. It answers the questions every loop asks of a request before queueing it:
 * can it ever fit ({@link Scheduler#admissible}), what are its prefix-cache keys, how much of its prompt
 * is cached here.
 */
public final class ReplicaCore {
    private static final long[] NO_KEYS = new long[0];

    private final SchedulerConfig config;
    private final KvBlockManager kv;
    private final AdapterCache adapters;
    private final Scheduler scheduler;
    private int knownAdapters;

    /**
     * @param loadTimes how long the adapter cache takes to bring an adapter in
     * @param lazyDecodes let steady steps count decoding sequences in bulk (exact; false visits every
     *     sequence every step, as the live engine must)
     */
    public ReplicaCore(SchedulerConfig config, AdapterCache.LoadTimes loadTimes, boolean lazyDecodes) {
        this(config, loadTimes, lazyDecodes, false);
    }

    /** @param countBlocks keep block counts only when prefix caching is off (a simulation needs no ids) */
    private ReplicaCore(
            SchedulerConfig config, AdapterCache.LoadTimes loadTimes, boolean lazyDecodes, boolean countBlocks) {
        this.config = config;
        this.adapters = new AdapterCache(config.maxAdapters(), config.maxCpuAdapters(), 16, loadTimes);
        this.kv = countBlocks && !config.prefixCaching()
                ? KvBlockManager.counting(config.kvCacheTokens(), config.blockSize())
                : new KvBlockManager(config.kvCacheTokens(), config.blockSize(), config.prefixCaching());
        this.scheduler = new Scheduler(config, kv, adapters, 16, lazyDecodes);
    }

    /** A simulated replica: adapter loads take the performance model's time for the index's ranks. */
    public static ReplicaCore simulated(ResolvedReplica replica, AdapterIndex index, boolean lazyDecodes) {
        SchedulerConfig c = replica.scheduler();
        return new ReplicaCore(
                c,
                new AdapterCache.LoadTimes() {
                    @Override
                    public long fromCpuNs(int adapter) {
                        return replica.perf().adapterLoadFromCpuNs(index.rank(adapter), c.maxAdapterRank());
                    }

                    @Override
                    public long fromStorageNs(int adapter) {
                        return replica.perf().adapterLoadFromStorageNs(index.rank(adapter));
                    }
                },
                lazyDecodes,
                true);
    }

    public SchedulerConfig config() {
        return config;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    public KvBlockManager kv() {
        return kv;
    }

    public AdapterCache adapters() {
        return adapters;
    }

    /** Whether a request of these lengths can ever be served here (the one admission rule). */
    public boolean admissible(int promptTokens, int outputTokens) {
        return scheduler.admissible(promptTokens, outputTokens);
    }

    /**
     * Makes the adapter cache know the first {@code count} adapters; with {@code preload} the new ones start
     * in the host tier while it has room.
     */
    public void knowAdapters(int count, boolean preload) {
        if (count > knownAdapters) {
            knownAdapters = count;
            adapters.ensureAdapters(count, preload);
        }
    }

    /** Adapters the adapter cache knows (indices below this are valid for it). */
    public int knownAdapters() {
        return knownAdapters;
    }

    /** The request's prefix-cache keys under adapter {@code adapter} (none without prefix caching). */
    public long[] prefixKeys(Request r, int adapter) {
        return config.prefixCaching() ? PrefixKeys.of(r, config.blockSize(), adapter) : NO_KEYS;
    }

    /** Tokens of this prompt whose K/V this replica holds (its prefix cache), leaving one to compute. */
    public int cachedPrefixTokens(long[] keys, int promptTokens) {
        int blockSize = kv.blockSize();
        int usable = Math.min(keys.length, Math.max(0, (promptTokens - 1) / blockSize));
        return kv.cachedPrefix(keys, usable) * blockSize;
    }
}
