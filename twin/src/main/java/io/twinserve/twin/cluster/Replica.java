package io.twinserve.twin.cluster;

import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.metrics.TimeIntegral;
import io.twinserve.twin.replica.AdapterIndex;
import io.twinserve.twin.replica.ReplicaCore;
import io.twinserve.twin.router.PrefillPrices;
import io.twinserve.twin.router.RoutableReplica;
import io.twinserve.twin.sched.QuietSteps;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;

/**
 * One replica of a deployment in a cluster run: its {@link ReplicaCore} (scheduler, KV manager and
 * adapter cache), where it runs, its life cycle and the load figures routers read. It relays the
 * scheduler's step events to its deployment's metrics, keeping its own prefill backlog on the way.
 */
final class Replica implements StepListener, RoutableReplica {
    /** Life cycle: starting (cold start), ready (routable), draining (finishing its requests), stopped. */
    enum State {
        STARTING,
        READY,
        DRAINING,
        STOPPED
    }

    final int id;
    final int indexInDeployment;
    final int deployment;
    final Placement.Slot slot;
    final ResolvedReplica resolved;
    final ReplicaCore core;
    final Scheduler scheduler;
    final KvBlockManager kv;
    final AdapterCache adapters;
    /** What the cache-aware router's estimates use. */
    final PrefillPrices prices;

    private final StepListener metrics;
    private final Ends ends;
    /** This replica's events, made once: a step or a wake-up allocates nothing. */
    final Event.StepCompleted stepCompleted = new Event.StepCompleted(this);

    final Event.ReplicaWoken woken = new Event.ReplicaWoken(this);

    /** Told when a request leaves a replica, finished or timed out (its client may send the next). */
    interface Ends {
        void ended(Sequence s, long nowNs);
    }

    State state;
    final long allocatedNs;
    long readyNs = -1;
    long stoppedNs = -1;
    boolean stepping;
    /** When its pending wake-up is due (Long.MAX_VALUE: none). */
    long wakeAtNs = Long.MAX_VALUE;
    /** Prefill tokens (prompt minus the prefix cached here at routing) of requests without a first token yet. */
    long pendingPrefillTokens;

    long routed;
    long steps;
    /** Durations of the steps planned, summed (the last may end after the run). */
    long busyNs;
    /** When the last step planned ends. */
    long stepEndNs;
    // this replica's share of its deployment's totals, as last counted (see DeploymentMetrics.refresh)
    long lastWaiting;
    int lastRunning;
    double lastKvUsage;
    int lastAdapters;
    // this replica's KV blocks in use over time (see DeploymentMetrics.refresh): the integral up to kvSinceNs,
    // and the blocks in use since
    final TimeIntegral kvBlockNs = new TimeIntegral();
    long kvSinceNs;
    long lastUsedBlocks;
    /** The decode stretch of the planned step, when it opens one. */
    final QuietSteps quiet;

    Replica(
            int id,
            int indexInDeployment,
            int deployment,
            Placement.Slot slot,
            long allocatedNs,
            AdapterIndex adapterIndex,
            boolean lazyDecodes,
            StepListener metrics,
            Ends ends) {
        this.id = id;
        this.indexInDeployment = indexInDeployment;
        this.deployment = deployment;
        this.slot = slot;
        this.resolved = slot.option().replica();
        this.allocatedNs = allocatedNs;
        this.metrics = metrics;
        this.ends = ends;
        this.core = ReplicaCore.simulated(resolved, adapterIndex, lazyDecodes);
        this.scheduler = core.scheduler();
        this.kv = core.kv();
        this.adapters = core.adapters();
        this.quiet = new QuietSteps(resolved.perf());
        this.prices = PrefillPrices.of(resolved);
    }

    int pool() {
        return slot.option().pool();
    }

    int tp() {
        return resolved.spec().replica().tp();
    }

    boolean routable() {
        return state == State.READY;
    }

    @Override
    public int replicaId() {
        return id;
    }

    /** Requests waiting or running here. */
    @Override
    public long outstanding() {
        return scheduler.waitingCount() + scheduler.runningCount();
    }

    @Override
    public boolean holdsAdapter(int adapter) {
        return adapter < core.knownAdapters() && adapters.isResident(adapter);
    }

    /** Tokens of this prompt whose K/V this replica holds (its prefix cache). */
    @Override
    public int cachedPrefixTokens(long[] blockHashes, int promptTokens) {
        return core.cachedPrefixTokens(blockHashes, promptTokens);
    }

    /**
     * An estimate of when a prefill of {@code tokens} more would finish here, from now: the prefill
     * backlog and these tokens at the price of a full chunk, plus each outstanding request's share of the
     * steps that interleave with it.
     */
    @Override
    public double estimatedPrefillNs(long tokens) {
        return prices.estimatedPrefillNs(pendingPrefillTokens, tokens, outstanding());
    }

    @Override
    public void onFirstToken(Sequence s, long nowNs) {
        pendingPrefillTokens -= s.estimatedPrefillTokens();
        metrics.onFirstToken(s, nowNs);
    }

    @Override
    public void onToken(Sequence s, long gapNs) {
        metrics.onToken(s, gapNs);
    }

    @Override
    public boolean acceptsBulkTokens() {
        return metrics.acceptsBulkTokens();
    }

    @Override
    public void onTokens(long gapNs, long count) {
        metrics.onTokens(gapNs, count);
    }

    @Override
    public long tokenGapBucketEndNs(long gapNs) {
        return metrics.tokenGapBucketEndNs(gapNs);
    }

    @Override
    public void onTimedOut(Sequence s, long nowNs) {
        pendingPrefillTokens -= s.estimatedPrefillTokens();
        metrics.onTimedOut(s, nowNs);
        ends.ended(s, nowNs);
    }

    @Override
    public void onFinished(Sequence s, long nowNs) {
        metrics.onFinished(s, nowNs);
        ends.ended(s, nowNs);
    }
}
