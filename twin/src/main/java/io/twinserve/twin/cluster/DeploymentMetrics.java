package io.twinserve.twin.cluster;

import io.twinserve.twin.metrics.RequestTallies;
import io.twinserve.twin.metrics.TimeIntegral;
import java.util.ArrayList;
import java.util.List;

/**
 * A deployment's metrics in a cluster run: the request tallies, and time-weighted totals over its
 * replicas (waiting, running, KV use, replicas holding GPUs). Totals change by deltas when a replica's
 * figures change, so an observation costs the same whatever the number of replicas.
 */
final class DeploymentMetrics {
    private static final int TIMELINE_SAMPLES = 60;

    final RequestTallies tallies;
    private long windowNs = Long.MAX_VALUE;
    private long sampleEveryNs = Long.MAX_VALUE;
    private long nextSampleNs;
    private long lastObservedNs;
    private long waiting;
    private long running;
    private double kvUsage;
    private int replicas;
    // exact integrals (count × ns), the same whether a replica's steps are observed one by one or in bulk;
    // KV use is integrated per replica, in blocks × ns (see refresh)
    private final TimeIntegral waitingIntegral = new TimeIntegral();
    private final TimeIntegral runningIntegral = new TimeIntegral();
    private final TimeIntegral replicaIntegral = new TimeIntegral();
    /** The clock at the last observation. */
    private long clockNs;

    private long maxWaiting;
    /** Adapters in GPU slots, summed over the running replicas (as of their last refresh). */
    private long adaptersInSlots;

    int minReplicas = Integer.MAX_VALUE;
    int maxReplicas;
    private final List<ClusterSummary.Sample> timeline = new ArrayList<>();

    DeploymentMetrics(boolean recordRequests, double starvationBoundS) {
        this.tallies = new RequestTallies(recordRequests, starvationBoundS);
    }

    void window(long ns) {
        windowNs = ns;
        tallies.window(ns);
        sampleEveryNs = ns == Long.MAX_VALUE ? 1_000_000_000L : Math.max(1, ns / TIMELINE_SAMPLES);
    }

    /** Integrates the totals held since the last observation up to {@code nowNs}. */
    void observe(long nowNs) {
        while (nextSampleNs <= nowNs && nextSampleNs <= windowNs) {
            timeline.add(new ClusterSummary.Sample(
                    RequestTallies.round(nextSampleNs / 1e9),
                    waiting,
                    running,
                    replicas,
                    RequestTallies.round(replicas == 0 ? 0 : kvUsage / replicas),
                    adaptersInSlots));
            nextSampleNs += sampleEveryNs;
        }
        long dt = nowNs - lastObservedNs;
        if (dt > 0) {
            waitingIntegral.add(waiting, dt);
            runningIntegral.add(running, dt);
            replicaIntegral.add(replicas, dt);
            lastObservedNs = nowNs;
        }
        clockNs = nowNs;
    }

    /** The first instant a run of a replica's quiet steps must not reach, so that observe sees it: the next sample. */
    long quietLimitNs() {
        return nextSampleNs <= windowNs ? nextSampleNs : Long.MAX_VALUE;
    }

    /**
     * Quiet steps of {@code r} ran from the last observation to {@code nowNs}, before {@link #quietLimitNs}
     * and the next event (so every other figure held): its KV blocks in use integrate to {@code usedBlockNs}
     * over them. Call {@link #refresh} after it.
     */
    void observeQuiet(Replica r, long nowNs, long usedBlockNs) {
        observe(nowNs);
        r.kvBlockNs.addSum(usedBlockNs);
        r.kvSinceNs = nowNs;
    }

    /** Takes a replica's current figures into the totals (call after observe). */
    void refresh(Replica r) {
        long w = r.scheduler.waitingCount();
        int run = r.scheduler.runningCount();
        long used = r.kv.usedBlocks();
        r.kvBlockNs.add(r.lastUsedBlocks, clockNs - r.kvSinceNs);
        r.kvSinceNs = clockNs;
        r.lastUsedBlocks = used;
        double kv = (double) used / r.kv.totalBlocks();
        waiting += w - r.lastWaiting;
        running += run - r.lastRunning;
        kvUsage += kv - r.lastKvUsage;
        r.lastWaiting = w;
        r.lastRunning = run;
        r.lastKvUsage = kv;
        int resident = r.adapters.residentAdapters();
        adaptersInSlots += resident - r.lastAdapters;
        r.lastAdapters = resident;
        maxWaiting = Math.max(maxWaiting, waiting);
    }

    /** A replica stopped: its slots no longer count. */
    void replicaStopped(Replica r) {
        adaptersInSlots -= r.lastAdapters;
        r.lastAdapters = 0;
    }

    /** The replicas the deployment starts with, before anything is observed. */
    void initialReplicas(int n) {
        replicas = n;
        minReplicas = n;
        maxReplicas = n;
    }

    /** A replica starts or stops holding GPUs (call after observe). */
    void replicasChanged(int delta) {
        replicas += delta;
        minReplicas = Math.min(minReplicas, replicas);
        maxReplicas = Math.max(maxReplicas, replicas);
    }

    long waiting() {
        return waiting;
    }

    double meanWaiting() {
        return RequestTallies.round(waitingIntegral.value() / Math.max(1, lastObservedNs));
    }

    long maxWaiting() {
        return maxWaiting;
    }

    double meanRunning() {
        return RequestTallies.round(runningIntegral.value() / Math.max(1, lastObservedNs));
    }

    /** Mean KV use per replica holding GPUs, over {@code replicas} (all of the deployment's), up to the last observation. */
    double meanKvUsage(List<Replica> replicas) {
        double kvIntegral = 0;
        for (Replica r : replicas) {
            r.kvBlockNs.add(r.lastUsedBlocks, clockNs - r.kvSinceNs);
            r.kvSinceNs = clockNs;
            kvIntegral += r.kvBlockNs.value() / r.kv.totalBlocks();
        }
        double replicaNs = replicaIntegral.value();
        return RequestTallies.round(replicaNs == 0 ? 0 : kvIntegral / replicaNs);
    }

    double meanReplicas() {
        return RequestTallies.round(replicaIntegral.value() / Math.max(1, lastObservedNs));
    }

    List<ClusterSummary.Sample> timeline() {
        if (timeline.size() <= TIMELINE_SAMPLES) {
            return List.copyOf(timeline);
        }
        List<ClusterSummary.Sample> out = new ArrayList<>();
        double step = (double) timeline.size() / TIMELINE_SAMPLES;
        for (int i = 0; i < TIMELINE_SAMPLES; i++) {
            out.add(timeline.get((int) (i * step)));
        }
        return out;
    }
}
