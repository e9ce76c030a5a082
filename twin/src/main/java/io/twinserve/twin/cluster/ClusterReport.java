package io.twinserve.twin.cluster;

import io.twinserve.twin.client.ClientGate;
import io.twinserve.twin.metrics.ClientSummary;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RequestTallies;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.router.RouterSpec;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sim.RunResult;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The report at the end of a cluster run: each replica's lazy decoders materialized, and the deployments',
 * replicas', pools' and clients' figures summed up, as a cluster's result or (for a run of one replica) a
 * single replica's.
 */
final class ClusterReport {
    private ClusterReport() {}

    /**
     * The run of a cluster of one replica as a single replica's run.
     *
     * @param stoppedNs when the run stopped because its starvation was settled, or -1
     * @param bulkSteps counts the steps the replica completed in bulk
     */
    static RunResult replica(
            DeploymentRun d, ClientGate client, long now, long windowNs, long stoppedNs, LongAdder bulkSteps)
            throws IOException {
        Replica r = d.replicas.get(0);
        bulkSteps.add(r.quiet.totalCompleted);
        r.scheduler.materialize();
        d.metrics.observe(Math.max(now, windowNs));
        RequestTallies.Figures f = d.metrics.tallies.figures(
                windowNs, r.scheduler.countWaitingSince(now - d.metrics.tallies.starvationBoundNs()));
        List<RunSummary.Sample> timeline = new ArrayList<>();
        for (ClusterSummary.Sample x : d.metrics.timeline()) {
            timeline.add(new RunSummary.Sample(
                    x.timeS(), x.waiting(), (int) x.running(), x.kvUsage(), (int) x.adaptersInSlots()));
        }
        Scheduler s = r.scheduler;
        RunSummary summary = new RunSummary(
                f.windowS(),
                f.arrived(),
                f.finished(),
                f.rejected(),
                f.timedOut(),
                f.unfinished(),
                f.offered(),
                f.achieved(),
                f.starving(),
                f.starvedRequests(),
                f.starvationBoundS(),
                f.ttft(),
                f.ttftFromIntended(),
                f.itl(),
                f.e2e(),
                f.queueWait(),
                s.queriedPromptTokens() == 0 ? 0 : round((double) s.cachedPromptTokens() / s.queriedPromptTokens()),
                r.adapters.loads(),
                r.adapters.storageLoads(),
                round(r.adapters.loadNs() / 1e9),
                s.preemptions(),
                r.steps,
                d.metrics.meanWaiting(),
                d.metrics.maxWaiting(),
                d.metrics.meanRunning(),
                d.metrics.meanKvUsage(d.replicas),
                RunSummary.Memory.of(r.resolved.memory()),
                List.copyOf(timeline),
                client.summary(windowNs));
        return new RunResult(summary, d.metrics.tallies.records(), stoppedNs);
    }

    /**
     * The cluster's run: each deployment's figures, replicas and cost, each pool's GPU-hours and cost, and
     * each client's summary.
     *
     * @param bulkSteps counts the steps the replicas completed in bulk
     */
    static ClusterResult cluster(
            ResolvedCluster cluster,
            Placement placement,
            List<DeploymentRun> deployments,
            List<ClusterSimulator.Traffic> sources,
            ClientGate[] clients,
            long now,
            long windowNs,
            LongAdder bulkSteps)
            throws IOException {
        long end = Math.max(now, windowNs);
        List<ClusterSummary.DeploymentSummary> out = new ArrayList<>();
        Map<String, List<RequestRecord>> records = new LinkedHashMap<>();
        double[] poolGpuHours = new double[cluster.pools().size()];
        long finishedTokens = 0;
        for (DeploymentRun d : deployments) {
            d.metrics.observe(end);
            long stillWaitingStarved = 0;
            long cached = 0;
            long queried = 0;
            long loads = 0;
            long storageLoads = 0;
            long preemptions = 0;
            long steps = 0;
            double gpuHours = 0;
            double cost = 0;
            List<ClusterSummary.ReplicaSummary> details = new ArrayList<>();
            for (Replica r : d.replicas) {
                bulkSteps.add(r.quiet.totalCompleted);
                r.scheduler.materialize();
                stillWaitingStarved += r.scheduler.countWaitingSince(now - d.metrics.tallies.starvationBoundNs());
                cached += r.scheduler.cachedPromptTokens();
                queried += r.scheduler.queriedPromptTokens();
                loads += r.adapters.loads();
                storageLoads += r.adapters.storageLoads();
                preemptions += r.scheduler.preemptions();
                steps += r.steps;
                // GPUs count from the decision to start a replica to its stop, within the window
                long heldUntil = Math.min(windowNs, r.stoppedNs >= 0 ? r.stoppedNs : end);
                double hours = Math.max(0, heldUntil - r.allocatedNs) / 3.6e12 * r.tp();
                ResolvedCluster.Pool pool = cluster.pools().get(r.pool());
                poolGpuHours[r.pool()] += hours;
                gpuHours += hours;
                cost += hours * pool.spec().costPerGpuHour();
                long upUntil = r.stoppedNs >= 0 ? r.stoppedNs : end;
                long up = r.readyNs < 0 ? 0 : upUntil - r.readyNs;
                details.add(new ClusterSummary.ReplicaSummary(
                        r.id,
                        pool.spec().name(),
                        r.slot.node(),
                        pool.gpu().name(),
                        r.tp(),
                        round(r.allocatedNs / 1e9),
                        r.readyNs < 0 ? -1 : round(r.readyNs / 1e9),
                        r.stoppedNs < 0 ? -1 : round(r.stoppedNs / 1e9),
                        r.routed,
                        r.scheduler.queriedPromptTokens() == 0
                                ? 0
                                : round((double) r.scheduler.cachedPromptTokens() / r.scheduler.queriedPromptTokens()),
                        r.adapters.loads(),
                        r.scheduler.preemptions(),
                        r.steps,
                        up <= 0 ? 0 : round((double) busyUntil(r, upUntil) / up),
                        RunSummary.Memory.of(r.resolved.memory())));
            }
            RequestTallies.Figures f = d.metrics.tallies.figures(windowNs, stillWaitingStarved);
            long tokens = d.metrics.tallies.finishedTokensInWindow();
            finishedTokens += tokens;
            ClusterSummary.Replicas replicas = new ClusterSummary.Replicas(
                    d.spec.replicas().initial(),
                    d.metrics.minReplicas == Integer.MAX_VALUE ? 0 : d.metrics.minReplicas,
                    d.metrics.maxReplicas,
                    d.metrics.meanReplicas(),
                    d.scaleUps,
                    d.scaleDowns,
                    d.scaleUpsRefused,
                    d.scaleUps == 0 ? 0 : round(d.coldStartNs / 1e9 / d.scaleUps));
            out.add(new ClusterSummary.DeploymentSummary(
                    d.spec.name(),
                    d.spec.model(),
                    RouterSpec.typeName(d.spec.router()),
                    f.arrived(),
                    f.finished(),
                    f.rejected(),
                    f.timedOut(),
                    f.unfinished(),
                    f.arrived() == 0 ? 0 : round((double) f.timedOut() / f.arrived()),
                    d.spec.maxTtftMs(),
                    f.offered(),
                    f.achieved(),
                    f.starving(),
                    f.starvedRequests(),
                    f.ttft(),
                    f.ttftFromIntended(),
                    f.itl(),
                    f.e2e(),
                    f.queueWait(),
                    queried == 0 ? 0 : round((double) cached / queried),
                    loads,
                    storageLoads,
                    preemptions,
                    steps,
                    d.metrics.meanWaiting(),
                    d.metrics.maxWaiting(),
                    d.metrics.meanRunning(),
                    d.metrics.meanKvUsage(d.replicas),
                    replicas,
                    round(gpuHours),
                    round(cost),
                    perMillion(cost, tokens),
                    d.metrics.timeline(),
                    details));
            records.put(d.spec.name(), d.metrics.tallies.records());
        }
        List<ClusterSummary.PoolSummary> pools = new ArrayList<>();
        double gpuHours = 0;
        double cost = 0;
        for (ResolvedCluster.Pool p : cluster.pools()) {
            double c = poolGpuHours[p.index()] * p.spec().costPerGpuHour();
            pools.add(new ClusterSummary.PoolSummary(
                    p.spec().name(),
                    p.gpu().name(),
                    p.spec().gpus(),
                    placement.peakGpus(p.index()),
                    round(poolGpuHours[p.index()]),
                    p.spec().costPerGpuHour(),
                    round(c)));
            gpuHours += poolGpuHours[p.index()];
            cost += c;
        }
        List<ClusterSummary.TrafficClient> clientSummaries = new ArrayList<>();
        for (int i = 0; i < clients.length; i++) {
            ClientSummary c = clients[i].summary(windowNs);
            if (c != null) {
                clientSummaries.add(new ClusterSummary.TrafficClient(
                        i, deployments.get(sources.get(i).deployment()).spec.name(), c));
            }
        }
        ClusterSummary summary = new ClusterSummary(
                cluster.spec().name(),
                round(windowNs / 1e9),
                out,
                pools,
                round(gpuHours),
                round(cost),
                perMillion(cost, finishedTokens),
                clientSummaries.isEmpty() ? null : List.copyOf(clientSummaries));
        return new ClusterResult(summary, records);
    }

    /** Cost per million tokens served (input + output), or null when nothing was served. */
    private static Double perMillion(double cost, long tokens) {
        return tokens == 0 ? null : round(cost / (tokens / 1e6));
    }

    private static double round(double v) {
        return RequestTallies.round(v);
    }

    /**
     * A replica's busy time up to {@code untilNs}: its steps' durations less the part of the last one past that
     * instant (a step under way when the run ends counts up to the end, so the busy fraction never exceeds 1).
     */
    private static long busyUntil(Replica r, long untilNs) {
        return r.busyNs - Math.max(0, r.stepEndNs - untilNs);
    }
}
