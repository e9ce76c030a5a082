package io.twinserve.engine.live;

import io.twinserve.twin.sched.Scheduler;
import java.util.List;

/**
 * The live loop's counters and what it publishes of them to other threads: {@link LiveEngine.Stats}
 * after every step and every request's end, {@link LiveEngine.Residency} at most every 100 ms. The
 * counters are written by the loop's thread only; the snapshots are read by any thread.
 */
final class LiveStats {
    private static final long RESIDENCY_EVERY_NS = 100_000_000L;

    private final Scheduler scheduler;
    private final AdapterTiers tiers;
    long steps;
    long promptComputed;
    long generated;
    long busyNs;
    long finished;
    long timedOut;
    long failed;
    private long residencyAtNs;
    private volatile LiveEngine.Stats stats = new LiveEngine.Stats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    private volatile LiveEngine.Residency residency = new LiveEngine.Residency(0, 0, List.of(), List.of());

    LiveStats(Scheduler scheduler, AdapterTiers tiers) {
        this.scheduler = scheduler;
        this.tiers = tiers;
    }

    /** Publishes the counters, and the residency when it is due. */
    void publish() {
        stats = new LiveEngine.Stats(
                steps,
                promptComputed,
                generated,
                scheduler.preemptions(),
                tiers.storageLoads,
                tiers.slotLoads,
                tiers.loadNs,
                busyNs,
                finished,
                timedOut,
                failed);
        long now = System.nanoTime();
        if (now - residencyAtNs > RESIDENCY_EVERY_NS) {
            residencyAtNs = now;
            List<String>[] names = tiers.residentNames();
            residency = new LiveEngine.Residency(
                    (int) scheduler.waitingCount(),
                    scheduler.runningCount(),
                    List.copyOf(names[0]),
                    List.copyOf(names[1]));
        }
    }

    /** Whether the residency is older than its refresh period (an idle loop then publishes anyway). */
    boolean residencyDue() {
        return System.nanoTime() - residencyAtNs > RESIDENCY_EVERY_NS;
    }

    LiveEngine.Stats stats() {
        return stats;
    }

    LiveEngine.Residency residency() {
        return residency;
    }
}
