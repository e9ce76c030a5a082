package io.twinserve.twin.cluster;

import io.twinserve.twin.autoscale.Autoscaler;
import io.twinserve.twin.autoscale.ScaledDeployment;
import io.twinserve.twin.replica.AdapterIndex;
import io.twinserve.twin.router.Router;
import io.twinserve.twin.router.RouterSpec;
import io.twinserve.twin.sim.RunOptions;
import java.util.ArrayList;
import java.util.List;

/** A deployment's state during a run. */
final class DeploymentRun implements ScaledDeployment {
    final ResolvedCluster.Deployment resolved;
    final ClusterDeploymentSpec spec;
    final Router router;
    final Autoscaler autoscaler;
    final DeploymentMetrics metrics;
    final List<Replica> replicas = new ArrayList<>();
    final List<Replica> routable = new ArrayList<>();
    final AdapterIndex adapters;
    final DeadlineQueue deadlines = new DeadlineQueue();
    final long maxTtftNs;
    final int blockSize;
    final boolean prefixCaching;
    /** Whether its router reads the replicas' prefill backlog (only the cache-aware router does). */
    final boolean estimatesPrefill;
    /**
     * How long after its send a request reaches the deployment's replicas (the perf model's time outside
     * the engine: HTTP, tokenisation, hand-off); the least of its pools', since a request is routed on
     * arrival, before its pool is known.
     */
    final long requestLatencyNs;

    long order;
    boolean deadlineScheduled;
    // what its autoscaler did, for the report
    int scaleUps;
    int scaleDowns;
    int scaleUpsRefused;
    long coldStartNs;

    DeploymentRun(ResolvedCluster.Deployment d, RunOptions options, boolean namesDeployment) {
        this.resolved = d;
        this.spec = d.spec();
        this.router = Router.of(spec.router());
        this.autoscaler = Autoscaler.of(spec.autoscaler());
        this.metrics = new DeploymentMetrics(options.recordRequests(), spec.starvationBoundS());
        this.maxTtftNs = (long) (spec.maxTtftMs() * 1e6);
        this.blockSize = spec.replica().blockSize();
        this.prefixCaching = spec.replica().prefixCaching();
        this.estimatesPrefill = spec.router() instanceof RouterSpec.CacheAware;
        long latency = Long.MAX_VALUE;
        for (ResolvedCluster.PoolOption o : d.options()) {
            latency = Math.min(latency, o.replica().perf().requestLatencyNs());
        }
        this.requestLatencyNs = d.options().isEmpty() ? 0 : latency;
        this.adapters = new AdapterIndex(
                spec.replica().maxAdapters(),
                spec.replica().maxAdapterRank(),
                namesDeployment ? "deployment " + spec.name() + ": " : "");
    }

    @Override
    public int startingReplicas() {
        int n = 0;
        for (Replica r : replicas) {
            if (r.state == Replica.State.STARTING) {
                n++;
            }
        }
        return n;
    }

    @Override
    public int holdingReplicas() {
        int n = 0;
        for (Replica r : replicas) {
            if (r.state != Replica.State.STOPPED) {
                n++;
            }
        }
        return n;
    }

    @Override
    public int readyReplicas() {
        return routable.size();
    }

    @Override
    public double intervalMeanTtftNs() {
        return metrics.tallies.intervalMeanTtftNs();
    }

    @Override
    public long oldestUnansweredAgeNs(long now) {
        while (!deadlines.isEmpty()
                && (deadlines.peek().firstTokenNs() >= 0 || deadlines.peek().timedOut())) {
            deadlines.poll();
        }
        return deadlines.isEmpty() ? 0 : now - deadlines.peek().arrivalNs();
    }

    @Override
    public long waitingRequests() {
        return metrics.waiting();
    }

    @Override
    public int minReplicas() {
        return spec.replicas().min();
    }

    @Override
    public int maxReplicas() {
        return spec.replicas().max();
    }
}
