package io.twinserve.api.server.inference;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.serve.LiveReplicas;
import io.twinserve.twin.router.PrefillPrices;
import io.twinserve.twin.router.RoutableReplica;
import io.twinserve.twin.sched.SchedulerConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One replica of a deployment in this server: its live loop, its backend and its requests in flight, and
 * what the twin's routers read of it. Its prefix cache is estimated from the prompts routed to it (their
 * block keys, least recently routed forgotten first, as many as its KV cache holds), since the loop's own
 * cache is read only on the loop's thread.
 */
final class ReplicaHandle implements RoutableReplica, AutoCloseable {
    final int index;
    final Backend backend;
    final LiveEngine engine;
    final AtomicInteger inFlight = new AtomicInteger();
    /** Prefill tokens (prompt minus the prefix estimated cached at routing) of requests without a first token. */
    final AtomicLong pendingPrefillTokens = new AtomicLong();

    private final LiveReplicas.Replica replica;
    private final List<String> adapterIds;
    private final PrefillPrices prices;
    private final int blockSize;
    private final Map<Long, Boolean> routedBlocks;
    private boolean closed;
    /** Set once the deployment has heard of this replica's failure ({@link ReplicaRestarts#failed}). */
    volatile boolean failureHandled;

    /**
     * @param adapterIds the deployment's adapter names by index (append-only), as routers number adapters
     * @param prices the price of a prefill token and of a running request, for the cache-aware estimate
     */
    ReplicaHandle(int index, LiveReplicas.Replica replica, List<String> adapterIds, PrefillPrices prices) {
        this.index = index;
        this.replica = replica;
        this.backend = replica.backend();
        this.engine = replica.engine();
        this.adapterIds = adapterIds;
        this.prices = prices;
        SchedulerConfig c = engine.schedulerConfig();
        this.blockSize = c.blockSize();
        long capacity = Math.max(1, c.kvCacheTokens() / c.blockSize());
        this.routedBlocks = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                return size() > capacity;
            }
        };
    }

    @Override
    public int replicaId() {
        return index;
    }

    @Override
    public long outstanding() {
        return inFlight.get();
    }

    /** From the loop's residency, refreshed every 100 ms at most. */
    @Override
    public boolean holdsAdapter(int adapter) {
        String name = adapter >= 0 && adapter < adapterIds.size() ? adapterIds.get(adapter) : null;
        return name != null && engine.residency().inSlots().contains(name);
    }

    /** Whole blocks of the prompt routed here before, leaving one token to compute (as the twin counts). */
    @Override
    public int cachedPrefixTokens(long[] blockHashes, int promptTokens) {
        int usable = Math.min(blockHashes.length, Math.max(0, (promptTokens - 1) / blockSize));
        int blocks = 0;
        synchronized (routedBlocks) {
            while (blocks < usable && routedBlocks.get(blockHashes[blocks]) != null) {
                blocks++;
            }
        }
        return blocks * blockSize;
    }

    @Override
    public double estimatedPrefillNs(long tokens) {
        return prices.estimatedPrefillNs(pendingPrefillTokens.get(), tokens, outstanding());
    }

    /** A request routed here: its prefill joins the backlog and its blocks the estimated prefix cache. */
    void routed(long[] blockHashes, long prefillTokens) {
        inFlight.incrementAndGet();
        pendingPrefillTokens.addAndGet(prefillTokens);
        if (blockHashes.length > 0) {
            synchronized (routedBlocks) {
                for (long b : blockHashes) {
                    routedBlocks.put(b, Boolean.TRUE);
                }
            }
        }
    }

    /**
     * Blocks now cached here without a routing (a finished answer's, which the engine caches as it fills them): a
     * chat's next turn, whose prompt repeats that answer, is estimated to find them here.
     */
    void remember(long[] blockHashes) {
        if (blockHashes.length > 0) {
            synchronized (routedBlocks) {
                for (long b : blockHashes) {
                    routedBlocks.put(b, Boolean.TRUE);
                }
            }
        }
    }

    /**
     * Stops the loop and releases the backend and the model files, once: a failed replica is closed when its restart
     * begins and again, as every replica, when the deployment closes.
     */
    @Override
    public synchronized void close() {
        // synchronized: a second caller returns once the first has freed the device, not while it still frees it
        if (!closed) {
            closed = true;
            replica.close();
        }
    }
}
