package io.twinserve.twin.metrics;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.twinserve.twin.memory.MemoryBreakdown;
import java.util.List;

/**
 * The figures of one simulated run. Throughputs count the tokens (input + output) of requests finished
 * within the window, divided by the window; the offered load counts the tokens of all requests that
 * arrived in it. The run starves when its total throughput is more than 10% below the offered load (the
 * adapter-caching study's definition); a request starves when it waits longer than the starvation bound
 * before it is first scheduled (or is still waiting when the window closes).
 *
 * <p>Latencies count from a request's arrival at the server (its send). When the workload has a client
 * block or a cap, {@code ttftFromIntended} counts from when the client meant to send it, as benchmark
 * clients report, and {@code client} says what the client did; both are absent otherwise.
 */
public record RunSummary(
        double windowS,
        long requestsArrived,
        long requestsFinished,
        long requestsRejected,
        long requestsTimedOut,
        long requestsUnfinished,
        Throughput offered,
        Throughput achieved,
        boolean starving,
        long starvedRequests,
        double starvationBoundS,
        Latency ttft,
        @JsonInclude(JsonInclude.Include.NON_NULL) Latency ttftFromIntended,
        Latency itl,
        Latency e2e,
        Latency queueWait,
        double kvHitRate,
        long adapterLoads,
        long adapterStorageLoads,
        double adapterLoadTimeS,
        long preemptions,
        long steps,
        double meanWaiting,
        long maxWaiting,
        double meanRunning,
        double meanKvUsage,
        Memory memory,
        List<Sample> timeline,
        @JsonInclude(JsonInclude.Include.NON_NULL) ClientSummary client) {

    /** Queue lengths and KV use at one instant; a run keeps up to 60, evenly spaced over its window. */
    /** @param adaptersInSlots adapters held in the replica's GPU slots (in use or not) */
    public record Sample(double timeS, long waiting, int running, double kvUsage, int adaptersInSlots) {}

    /** Tokens and requests per second. */
    public record Throughput(
            double requestsPerS, double inputTokensPerS, double outputTokensPerS, double totalTokensPerS) {}

    /** Per-GPU memory in GiB and the KV capacity in tokens. */
    public record Memory(
            double budgetGib,
            double weightsGib,
            double adapterSlotsGib,
            double activationsGib,
            double kvCacheGib,
            long kvCacheTokens) {

        public static Memory of(MemoryBreakdown m) {
            double gib = 1L << 30;
            return new Memory(
                    RequestTallies.round(m.budgetBytes() / gib),
                    RequestTallies.round(m.weightBytes() / gib),
                    RequestTallies.round(m.adapterSlotBytes() / gib),
                    RequestTallies.round(m.activationBytes() / gib),
                    RequestTallies.round(m.kvCacheBytes() / gib),
                    m.kvCacheTokens());
        }
    }
}
