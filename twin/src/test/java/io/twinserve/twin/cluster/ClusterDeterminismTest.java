package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A cluster run depends on nothing but its cluster, workload and seed. */
class ClusterDeterminismTest {
    private static final long WINDOW_NS = 120_000_000_000L;

    // every moving part at once: adapters, sessions, two deployments on shared pools, an autoscaler, 408s
    private static final String CLUSTER = """
      pools:
        - {name: h100, gpu: h100-sxm-80gb, gpus_per_node: 4, cost_per_gpu_hour: 3.5}
        - {name: a100, gpu: a100-sxm-80gb, gpus_per_node: 8, cost_per_gpu_hour: 2}
      deployments:
        - {name: chat, model: llama-3.1-8b, pools: [h100, a100], replicas: {min: 1, max: 4},
           router: {type: cache_aware}, max_ttft_ms: 3000,
           replica: {max_adapters: 4, max_cpu_adapters: 8, max_num_seqs: 48},
           autoscaler: {type: reactive, interval_s: 5, scale_down_after_s: 15, startup_s: 3}}
        - {name: tools, model: llama-3.2-3b, pools: [a100], replicas: {initial: 2},
           router: {type: adapter_affinity, load_slack: 2}, replica: {max_adapters: 2, max_cpu_adapters: 4}}
      traffic: [{deployment: chat, workload: chat.yaml}, {deployment: tools, workload: tools.yaml}]
      """;

    private static String workload(long seed, double rate) {
        return """
        seed: %d
        duration_s: 150
        arrivals: {type: poisson, rate: %s}
        adapters: {count: 12, ranks: [8, 16], popularity: {type: zipf, exponent: 1.0}, base_share: 0.2}
        lengths:
          prompt: {type: lognormal, mean: 800, std: 500}
          output: {type: lognormal, mean: 200, std: 150}
          max_prompt: 4096
          max_output: 1024
        sessions:
          turns: {type: uniform, min: 1, max: 5}
          think_time_s: {type: exponential, mean: 4}
          block_size: 16
        """.formatted(seed, rate);
    }

    private static ClusterResult run(ClusterSimulator simulator, long seed) throws IOException {
        WorkloadGenerator chat = ClusterTestSupport.workload(workload(seed, 25));
        WorkloadGenerator tools = ClusterTestSupport.workload(workload(seed + 1, 6));
        return simulator.run(
                List.of(
                        new ClusterSimulator.Traffic(0, chat, ClusterTestSupport.ranks(chat)),
                        new ClusterSimulator.Traffic(1, tools, ClusterTestSupport.ranks(tools))),
                RunOptions.defaults().withWindowNs(WINDOW_NS).withRecordRequests(true));
    }

    @Test
    void sameClusterWorkloadAndSeedGiveEqualSummariesAndRecords() throws IOException {
        ClusterResult first = run(new ClusterSimulator(ClusterTestSupport.cluster(CLUSTER)), 5);
        ClusterResult second = run(new ClusterSimulator(ClusterTestSupport.cluster(CLUSTER)), 5);

        ClusterSummary.DeploymentSummary chat = first.summary().deployments().get(0);
        assertThat(chat.requestsArrived()).isGreaterThan(1000);
        assertThat(chat.replicas().scaleUps()).as("the autoscaler took part").isPositive();
        assertThat(first.requests().get("tools")).isNotEmpty();
        assertThat(second.summary()).isEqualTo(first.summary());
        assertThat(second.requests()).isEqualTo(first.requests());
    }

    @Test
    void oneSimulatorRunTwiceStartsAfreshEachTime() throws IOException {
        ClusterSimulator simulator = new ClusterSimulator(ClusterTestSupport.cluster(CLUSTER));

        ClusterResult first = run(simulator, 9);
        ClusterResult second = run(simulator, 9);

        assertThat(second.summary()).isEqualTo(first.summary());
        assertThat(second.requests()).isEqualTo(first.requests());
    }

    @Test
    void anotherSeedGivesAnotherRun() throws IOException {
        ClusterSimulator simulator = new ClusterSimulator(ClusterTestSupport.cluster(CLUSTER));

        assertThat(run(simulator, 6).requests()).isNotEqualTo(run(simulator, 5).requests());
    }
}
