package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A cluster run with decode stretches gives the same summary and records as stepping one by one. */
class ClusterDecodeStretchEquivalenceTest {

    private static final String ONE_REPLICA = """
      pools: [{name: h100, gpu: h100-sxm-80gb, gpus_per_node: 8, cost_per_gpu_hour: 3}]
      deployments:
        - {name: chat, model: llama-3.1-8b, pools: [h100], replicas: {initial: 1}, max_ttft_ms: %s,
           replica: {max_adapters: 4, max_cpu_adapters: 8, max_num_seqs: %d, kv_cache_len: %d}}
      traffic: [{deployment: chat, workload: chat.yaml}]
      """;

    // several replicas, two deployments, an autoscaler that starts and drains replicas, 408s
    private static final String SEVERAL = """
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

    private static String workload(long seed, String rate, String cv) {
        return workload(seed, rate, cv, "");
    }

    private static String workload(long seed, String rate, String cv, String client) {
        return """
        seed: %d
        duration_s: 200
        arrivals: {type: gamma, rate: %s, cv: %s}
        adapters: {count: 12, ranks: [8, 16], popularity: {type: zipf, exponent: 1.0}, base_share: 0.2}
        lengths: {prompt: {type: lognormal, mean: 600, std: 500}, output: {type: lognormal, mean: 200, std: 150}, max_prompt: 4096, max_output: 1024}
        %s
        """.formatted(seed, rate, cv, client);
    }

    /** Columns: seed, rate, cv, max TTFT ms, max_num_seqs, KV cache tokens, window s, drain, client block. */
    @ParameterizedTest
    @CsvSource({
        "1, 0.3, 1, 60000, 256, 200000, 200, false, ",
        "2, 2, 4, 2000, 256, 200000, 200, false, ",
        "3, 4, 2, 60000, 32, 15000, 100, true, ",
        // very light load: long stretches, cut by the timeline's samples
        "4, 0.03, 1, 60000, 256, 200000, 200, false, ",
        "5, 0.05, 2, 60000, 256, 200000, 150, true, ",
        // a client that sends when others end, and closed-loop users
        "6, 3, 2, 60000, 256, 200000, 200, false, 'client: {max_outstanding: 3}'",
        "7, 1, 1, 5000, 64, 30000, 150, true, 'client: {users: 5, think_time_s: 0.2, max_outstanding: 4}'",
    })
    void oneReplicaGivesTheSameResultsWithStretches(
            long seed,
            String rate,
            String cv,
            int maxTtftMs,
            int maxSeqs,
            int kv,
            int windowS,
            boolean drain,
            String client)
            throws IOException {
        ResolvedCluster cluster = ClusterTestSupport.cluster(ONE_REPLICA.formatted(maxTtftMs, maxSeqs, kv));
        RunOptions options = RunOptions.defaults()
                .withWindowNs(windowS * 1_000_000_000L)
                .withDrain(drain)
                .withRecordRequests(true);
        ClusterSimulator bulk = new ClusterSimulator(cluster, true);
        ClusterResult stretched = run(bulk, seed, rate, cv, client, options);
        ClusterResult stepped = run(new ClusterSimulator(cluster, false), seed, rate, cv, client, options);
        assertThat(stretched.requests().get("chat")).isNotEmpty();
        long steps = stretched.summary().deployments().get(0).steps();
        assertThat(bulk.bulkSteps()).as("steps run in bulk of %d", steps).isGreaterThan(steps / 20);
        assertThat(stretched.summary()).isEqualTo(stepped.summary());
        assertThat(stretched.requests()).isEqualTo(stepped.requests());
    }

    @ParameterizedTest
    @CsvSource({"5, 0.5", "6, 12"})
    void severalReplicasGiveTheSameResultsWithStretches(long seed, String rate) throws IOException {
        ResolvedCluster cluster = ClusterTestSupport.cluster(SEVERAL);
        RunOptions options =
                RunOptions.defaults().withWindowNs(150_000_000_000L).withRecordRequests(true);
        ClusterSimulator bulk = new ClusterSimulator(cluster, true);
        ClusterResult stretched = run(bulk, seed, rate, "2", "1", options);
        ClusterResult stepped = run(new ClusterSimulator(cluster, false), seed, rate, "2", "1", options);
        assertThat(bulk.bulkSteps()).as("steps run in bulk").isPositive();
        assertThat(stretched.summary()).isEqualTo(stepped.summary());
        assertThat(stretched.requests()).isEqualTo(stepped.requests());
    }

    /** One replica (chat alone, with {@code clientOrToolsRate} its client block) or several (with tools at that rate). */
    private static ClusterResult run(
            ClusterSimulator simulator, long seed, String rate, String cv, String clientOrToolsRate, RunOptions options)
            throws IOException {
        boolean one = clientOrToolsRate == null || clientOrToolsRate.startsWith("client");
        WorkloadGenerator chat = ClusterTestSupport.workload(
                workload(seed, rate, cv, one && clientOrToolsRate != null ? clientOrToolsRate : ""));
        String toolsRate = one ? null : clientOrToolsRate;
        if (toolsRate == null) {
            return simulator.run(
                    List.of(new ClusterSimulator.Traffic(0, chat, ClusterTestSupport.ranks(chat))), options);
        }
        WorkloadGenerator tools = ClusterTestSupport.workload(workload(seed + 1, toolsRate, "1"));
        return simulator.run(
                List.of(
                        new ClusterSimulator.Traffic(0, chat, ClusterTestSupport.ranks(chat)),
                        new ClusterSimulator.Traffic(1, tools, ClusterTestSupport.ranks(tools))),
                options);
    }
}
