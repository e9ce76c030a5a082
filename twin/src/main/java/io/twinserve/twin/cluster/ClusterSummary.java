package io.twinserve.twin.cluster;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.twinserve.twin.metrics.ClientSummary;
import io.twinserve.twin.metrics.Latency;
import io.twinserve.twin.metrics.RunSummary;
import java.util.List;

/**
 * The figures of one cluster run: per deployment (requests, throughput, latencies, 408s, replicas over
 * time, GPU-hours and cost), per pool, and in total. Throughputs count the tokens of requests finished
 * within the window; GPU-hours count the GPUs replicas held (from the autoscaler's decision to start
 * them to their stop) within the window.
 */
public record ClusterSummary(
        String name,
        double windowS,
        List<DeploymentSummary> deployments,
        List<PoolSummary> pools,
        double gpuHours,
        double cost,
        Double costPerMillionTokens,
        @JsonInclude(JsonInclude.Include.NON_NULL) List<TrafficClient> clients) {

    /** What the client of one traffic source did (sources with a client block or a cap only). */
    public record TrafficClient(int traffic, String deployment, ClientSummary client) {}

    /** One deployment's figures. */
    public record DeploymentSummary(
            String name,
            String model,
            String router,
            long requestsArrived,
            long requestsFinished,
            long requestsRejected,
            long requestsTimedOut,
            long requestsUnfinished,
            double timedOutFraction,
            double maxTtftMs,
            RunSummary.Throughput offered,
            RunSummary.Throughput achieved,
            boolean starving,
            long starvedRequests,
            Latency ttft,
            @JsonInclude(JsonInclude.Include.NON_NULL) Latency ttftFromIntended,
            Latency itl,
            Latency e2e,
            Latency queueWait,
            double kvHitRate,
            long adapterLoads,
            long adapterStorageLoads,
            long preemptions,
            long steps,
            double meanWaiting,
            long maxWaiting,
            double meanRunning,
            double meanKvUsage,
            Replicas replicas,
            double gpuHours,
            double cost,
            Double costPerMillionTokens,
            List<Sample> timeline,
            List<ReplicaSummary> replicaDetails) {}

    /** How many replicas a deployment ran, and how the autoscaler changed that. */
    public record Replicas(
            int initial,
            int min,
            int max,
            double mean,
            int scaleUps,
            int scaleDowns,
            int scaleUpsRefused,
            double coldStartS) {}

    /** Queue, running, replicas holding GPUs, and mean KV use at one instant (up to 60 per run). */
    /** @param adaptersInSlots adapters held in GPU slots, summed over the replicas */
    public record Sample(
            double timeS, long waiting, long running, int replicas, double kvUsage, long adaptersInSlots) {}

    /** One replica's figures. */
    public record ReplicaSummary(
            int id,
            String pool,
            int node,
            String gpu,
            int tp,
            double startedS,
            double readyS,
            double stoppedS,
            long requestsRouted,
            double kvHitRate,
            long adapterLoads,
            long preemptions,
            long steps,
            double busyFraction,
            RunSummary.Memory memory) {}

    /** One pool's use and cost. */
    public record PoolSummary(
            String name, String gpu, int gpus, int peakGpusHeld, double gpuHours, double costPerGpuHour, double cost) {}
}
