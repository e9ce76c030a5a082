package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Request;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Routers at work in whole cluster runs. */
class ClusterRoutingTest {

    private static ResolvedCluster cluster(int replicas, String router) throws IOException {
        return ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 8}]
        deployments:
          - {name: d, model: llama-3.1-8b, pools: [p], replicas: {initial: %d}, router: {type: %s}}
        """.formatted(replicas, router));
    }

    @Test
    void roundRobinSpreadsRequestsEvenlyOverReplicas() throws IOException {
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            // uneven sizes: round robin does not look at them
            requests.add(Request.of(i, i * 50_000_000L, null, 100 + 37 * (i % 7), 20 + 11 * (i % 5)));
        }

        ClusterResult result = ClusterTestSupport.run(
                cluster(4, "round_robin"), requests, RunOptions.defaults().withDrain(true));

        ClusterSummary.DeploymentSummary d = result.summary().deployments().get(0);
        assertThat(d.replicaDetails()).hasSize(4);
        assertThat(d.replicaDetails())
                .allSatisfy(r -> assertThat(r.requestsRouted()).isEqualTo(15));
        assertThat(d.requestsFinished()).isEqualTo(60);
    }

    @Test
    void leastLoadedKeepsOutstandingRequestsBalancedUnderABurst() throws IOException {
        // 40 requests at once: each goes where fewest are outstanding, so the replicas get 10 each
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            requests.add(Request.of(i, 1_000_000L, null, 500, 200));
        }

        ClusterResult result = ClusterTestSupport.run(
                cluster(4, "least_loaded"), requests, RunOptions.defaults().withDrain(true));

        assertThat(result.summary().deployments().get(0).replicaDetails())
                .allSatisfy(r -> assertThat(r.requestsRouted()).isEqualTo(10));
    }

    private static final String SESSIONS = """
      seed: 11
      duration_s: 240
      arrivals: {type: poisson, rate: 4}
      lengths:
        prompt: {type: lognormal, mean: 600, std: 300}
        output: {type: lognormal, mean: 150, std: 100}
        max_prompt: 4096
        max_output: 1024
      sessions:
        turns: {type: uniform, min: 3, max: 8}
        think_time_s: {type: exponential, mean: 5}
        block_size: 16
      """;

    private static double kvHitRate(String router) throws IOException {
        ClusterResult result = ClusterTestSupport.run(
                cluster(4, router),
                ClusterTestSupport.workload(SESSIONS),
                RunOptions.defaults().withDrain(true));
        ClusterSummary.DeploymentSummary d = result.summary().deployments().get(0);
        assertThat(d.requestsFinished()).isPositive();
        return d.kvHitRate();
    }

    @Test
    void sessionAwareRoutersHitThePrefixCacheMoreOftenThanLoadOnlyRoutersOnMultiTurnSessions() throws IOException {
        Map<String, Double> hit = new HashMap<>();
        for (String router : List.of("round_robin", "least_loaded", "session_affinity", "cache_aware")) {
            hit.put(router, kvHitRate(router));
        }

        double loadOnly = Math.max(hit.get("round_robin"), hit.get("least_loaded"));
        assertThat(hit.get("session_affinity"))
                .as("kv_hit_rate by router: %s", hit)
                .isGreaterThan(loadOnly);
        assertThat(hit.get("cache_aware")).as("kv_hit_rate by router: %s", hit).isGreaterThan(loadOnly);
    }

    private static final String MANY_ADAPTERS = """
      seed: 21
      duration_s: 180
      arrivals: {type: poisson, rate: 6}
      adapters: {count: 24, ranks: [8, 16], popularity: {type: zipf, exponent: 1.2}, base_share: 0.1}
      lengths:
        prompt: {type: lognormal, mean: 500, std: 300}
        output: {type: lognormal, mean: 150, std: 100}
        max_prompt: 4096
        max_output: 1024
      """;

    private static ClusterSummary.DeploymentSummary adapterRun(String router) throws IOException {
        ResolvedCluster cluster = ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 8}]
        deployments:
          - {name: d, model: llama-3.1-8b, pools: [p], replicas: {initial: 4}, router: %s,
             replica: {max_adapters: 4, max_cpu_adapters: 24}}
        """.formatted(router));
        ClusterSummary.DeploymentSummary d = ClusterTestSupport.run(
                        cluster,
                        ClusterTestSupport.workload(MANY_ADAPTERS),
                        RunOptions.defaults().withDrain(true))
                .summary()
                .deployments()
                .get(0);
        assertThat(d.requestsFinished()).isPositive();
        return d;
    }

    @Test
    void adapterAffinityLoadsAdaptersLessOftenThanLoadOnlyRouting() throws IOException {
        ClusterSummary.DeploymentSummary affinity = adapterRun("{type: adapter_affinity, load_slack: 4}");
        ClusterSummary.DeploymentSummary leastLoaded = adapterRun("{type: least_loaded}");

        assertThat(affinity.adapterLoads()).isLessThan(leastLoaded.adapterLoads());
    }
}
