package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.Request;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** GPU-hours and cost of fixed replicas over a window, per pool, per deployment and in total. */
class ClusterCostTest {
    private static final long WINDOW_NS = 120_000_000_000L;
    private static final double WINDOW_S = 120;
    private static final double H100_PER_HOUR = 4.0;
    private static final double A100_PER_HOUR = 2.5;

    private static ResolvedCluster cluster() throws IOException {
        return ClusterTestSupport.cluster("""
        pools:
          - {name: h100, gpu: h100-sxm-80gb, gpus_per_node: 8, cost_per_gpu_hour: %s}
          - {name: a100, gpu: a100-sxm-80gb, gpus_per_node: 4, nodes: 2, cost_per_gpu_hour: %s}
        deployments:
          - {name: chat, model: llama-3.1-8b, pools: [h100], replicas: {initial: 3}}
          - {name: batch, model: llama-3.1-8b, pools: [a100], replicas: {initial: 2}, replica: {tp: 2}}
        traffic: [{deployment: chat, workload: chat.yaml}, {deployment: batch, workload: batch.yaml}]
        """.formatted(H100_PER_HOUR, A100_PER_HOUR));
    }

    /** Steady requests for the whole window and a bit beyond (those finish after it, with drain). */
    private static List<Request> steady(double perSecond, int prompt, int output) {
        List<Request> out = new ArrayList<>();
        long id = 0;
        for (double t = 0; t < WINDOW_S + 10; t += 1 / perSecond) {
            out.add(Request.of(
                    id++, (long) (t * 1e9), null, prompt + (int) (id % 7) * 50, output + (int) (id % 5) * 40));
        }
        return out;
    }

    private static ClusterResult run(boolean drain) throws IOException {
        return new ClusterSimulator(cluster())
                .run(
                        List.of(
                                new ClusterSimulator.Traffic(
                                        0, ClusterTestSupport.trace(steady(6, 600, 200)), Map.of()),
                                new ClusterSimulator.Traffic(
                                        1, ClusterTestSupport.trace(steady(2, 2000, 400)), Map.of())),
                        RunOptions.defaults()
                                .withWindowNs(WINDOW_NS)
                                .withDrain(drain)
                                .withRecordRequests(true));
    }

    private static long finishedTokensInWindow(List<RequestRecord> records) {
        long tokens = 0;
        for (RequestRecord r : records) {
            if (r.outcome() == RequestRecord.Outcome.FINISHED && r.finishNs() <= WINDOW_NS) {
                tokens += r.promptTokens() + r.outputTokens();
            }
        }
        return tokens;
    }

    @Test
    void fixedReplicasCostTheirGpusForTheWholeWindowPerPoolDeploymentAndInTotal() throws IOException {
        for (boolean drain : List.of(false, true)) {
            ClusterResult result = run(drain);
            ClusterSummary s = result.summary();
            double chatGpuHours = 3 * 1 * WINDOW_S / 3600;
            double batchGpuHours = 2 * 2 * WINDOW_S / 3600;
            double chatCost = chatGpuHours * H100_PER_HOUR;
            double batchCost = batchGpuHours * A100_PER_HOUR;

            assertThat(s.windowS()).isEqualTo(WINDOW_S);
            ClusterSummary.PoolSummary h100 = s.pools().get(0);
            ClusterSummary.PoolSummary a100 = s.pools().get(1);
            assertThat(h100.gpus()).isEqualTo(8);
            assertThat(a100.gpus()).isEqualTo(8);
            assertThat(h100.peakGpusHeld()).isEqualTo(3);
            assertThat(a100.peakGpusHeld()).isEqualTo(4);
            assertThat(h100.gpuHours()).as("drain %s", drain).isCloseTo(chatGpuHours, within(1e-6));
            assertThat(a100.gpuHours()).as("drain %s", drain).isCloseTo(batchGpuHours, within(1e-6));
            assertThat(h100.cost()).isCloseTo(chatCost, within(1e-6));
            assertThat(a100.cost()).isCloseTo(batchCost, within(1e-6));
            assertThat(s.gpuHours()).isCloseTo(chatGpuHours + batchGpuHours, within(1e-6));
            assertThat(s.cost()).isCloseTo(chatCost + batchCost, within(1e-6));

            ClusterSummary.DeploymentSummary chat = s.deployments().get(0);
            ClusterSummary.DeploymentSummary batch = s.deployments().get(1);
            assertThat(chat.gpuHours()).isCloseTo(chatGpuHours, within(1e-6));
            assertThat(batch.gpuHours()).isCloseTo(batchGpuHours, within(1e-6));
            assertThat(chat.cost()).isCloseTo(chatCost, within(1e-6));
            assertThat(batch.cost()).isCloseTo(batchCost, within(1e-6));
        }
    }

    @Test
    void costPerMillionTokensDividesTheCostByTheTokensOfRequestsFinishedInTheWindow() throws IOException {
        ClusterResult result = run(true);
        ClusterSummary s = result.summary();
        long chatTokens = finishedTokensInWindow(result.requests().get("chat"));
        long batchTokens = finishedTokensInWindow(result.requests().get("batch"));
        double chatCost = 3 * WINDOW_S / 3600 * H100_PER_HOUR;
        double batchCost = 4 * WINDOW_S / 3600 * A100_PER_HOUR;

        assertThat(chatTokens).isPositive();
        assertThat(batchTokens).isPositive();
        // requests finished after the window (drain) are not paid for by the window's cost
        assertThat(result.requests().get("chat")).anyMatch(r -> r.finishNs() > WINDOW_NS);
        assertThat(s.deployments().get(0).costPerMillionTokens())
                .isCloseTo(chatCost / (chatTokens / 1e6), within(1e-6));
        assertThat(s.deployments().get(1).costPerMillionTokens())
                .isCloseTo(batchCost / (batchTokens / 1e6), within(1e-6));
        assertThat(s.costPerMillionTokens())
                .isCloseTo((chatCost + batchCost) / ((chatTokens + batchTokens) / 1e6), within(1e-6));
        assertThat(s.deployments().get(0).achieved().totalTokensPerS()).isCloseTo(chatTokens / WINDOW_S, within(1e-3));
    }

    @Test
    void aFreePoolCostsNothingAndAWindowWithoutFinishedTokensHasNoCostPerToken() throws IOException {
        ResolvedCluster cluster = ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 8}]
        deployments: [{name: d, model: llama-3.1-8b, pools: [p], replicas: {initial: 2}}]
        """);
        ClusterSummary s = ClusterTestSupport.run(
                        cluster, List.of(), RunOptions.defaults().withWindowNs(WINDOW_NS))
                .summary();

        assertThat(s.gpuHours()).isCloseTo(2 * WINDOW_S / 3600, within(1e-6));
        assertThat(s.cost()).isZero();
        assertThat(s.costPerMillionTokens()).isNull();
        assertThat(s.deployments().get(0).costPerMillionTokens()).isNull();
    }
}
