package io.twinserve.twin.cluster;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Clusters and workloads for cluster tests, written as users write them. */
final class ClusterTestSupport {
    private ClusterTestSupport() {}

    static ResolvedCluster cluster(String yaml) throws IOException {
        return Clusters.resolve(Clusters.parse(yaml, Path.of("test-cluster.yaml")), Profiles.builtIn());
    }

    static WorkloadGenerator workload(String yaml) {
        WorkloadSpec spec = WorkloadSpecs.parse(yaml, Path.of("test-workload.yaml"));
        return new WorkloadGenerator(spec, null);
    }

    static Map<String, Integer> ranks(WorkloadGenerator g) {
        Map<String, Integer> ranks = new HashMap<>();
        for (Adapter a : g.adapters()) {
            ranks.put(a.id(), a.rank());
        }
        return ranks;
    }

    static ClusterResult run(ResolvedCluster cluster, WorkloadGenerator g, RunOptions options) throws IOException {
        return new ClusterSimulator(cluster).run(List.of(new ClusterSimulator.Traffic(0, g, ranks(g))), options);
    }

    static ClusterResult run(ResolvedCluster cluster, List<Request> requests, RunOptions options) throws IOException {
        return new ClusterSimulator(cluster)
                .run(List.of(new ClusterSimulator.Traffic(0, trace(requests), Map.of())), options);
    }

    static TraceReader trace(List<Request> requests) {
        Iterator<Request> it = requests.iterator();
        return () -> it.hasNext() ? it.next() : null;
    }

    static final String CHAT = """
      seed: 7
      duration_s: 300
      arrivals: {type: poisson, rate: 3}
      adapters: {count: 16, ranks: [8, 16], popularity: {type: zipf, exponent: 1.0}, base_share: 0.1}
      lengths:
        prompt: {type: lognormal, mean: 400, std: 300}
        output: {type: lognormal, mean: 200, std: 150}
        max_prompt: 4096
        max_output: 1024
      sessions:
        turns: {type: uniform, min: 2, max: 6}
        think_time_s: {type: exponential, mean: 10}
        block_size: 16
      """;
}
