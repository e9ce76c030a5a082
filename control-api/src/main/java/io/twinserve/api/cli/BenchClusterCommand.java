package io.twinserve.api.cli;

import io.twinserve.traces.Request;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.cluster.ClusterResult;
import io.twinserve.twin.cluster.ClusterSimulator;
import io.twinserve.twin.cluster.ClusterSummary;
import io.twinserve.twin.cluster.Clusters;
import io.twinserve.twin.cluster.ResolvedCluster;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code twinserve bench cluster}: an hour of traffic at 1,000 requests/s on 64 replicas, timed against
 * generating the same requests alone (the same-run baseline), with the peak heap.
 */
@Command(
        name = "cluster",
        mixinStandardHelpOptions = true,
        description = {
            "Simulate one hour at 1,000 requests/s (3.6 million requests, 64 adapters) on 64 Llama-3.1-8B",
            "replicas over eight 8-GPU H100 nodes, in one thread. Prints the simulation time, the time to only",
            "generate the workload (baseline) and their ratio, and the peak heap. Pin to one core with taskset."
        },
        footer = {"", "Example:", "  JAVA_OPTS=-Xmx4g taskset -c 0 ./twinserve bench cluster"})
final class BenchClusterCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--duration",
            paramLabel = "SECONDS",
            defaultValue = "3600",
            description = "Simulated window (default ${DEFAULT-VALUE}).")
    double durationS;

    @Option(
            names = "--rate",
            paramLabel = "PER_S",
            defaultValue = "1000",
            description = "Requests per second (default ${DEFAULT-VALUE}).")
    double rate;

    @Option(
            names = "--replicas",
            paramLabel = "N",
            defaultValue = "64",
            description = "Replicas, 8 per node (default ${DEFAULT-VALUE}).")
    int replicas;

    @Option(
            names = "--router",
            paramLabel = "TYPE",
            defaultValue = "adapter_affinity",
            description = "Router policy (default ${DEFAULT-VALUE}).")
    String router;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        out.printf(
                Locale.ROOT,
                "bench cluster: JVM %s, max heap %,d MiB, %d cores visible%n",
                Runtime.version(),
                Runtime.getRuntime().maxMemory() >> 20,
                Runtime.getRuntime().availableProcessors());
        int nodes = (replicas + 7) / 8;
        ResolvedCluster cluster = Clusters.resolve(
                Clusters.parse("""
        pools: [{name: h100, gpu: h100-sxm-80gb, gpus_per_node: 8, nodes: %d, cost_per_gpu_hour: 3.0}]
        deployments:
          - {name: bench, model: llama-3.1-8b, pools: [h100], replicas: {initial: %d}, router: {type: %s},
             max_ttft_ms: 60000, replica: {max_adapters: 32, max_cpu_adapters: 64, max_num_seqs: 256}}
        """.formatted(nodes, replicas, router), Path.of("<bench cluster>")), Profiles.builtIn());
        // warm-up: a short run compiles the hot paths before anything is timed
        run(cluster, Math.min(60, durationS));
        HeapPeaks.reset();
        long g0 = System.nanoTime();
        long generated = 0;
        try (WorkloadGenerator g = new WorkloadGenerator(workload(durationS), null)) {
            for (Request r = g.next(); r != null; r = g.next()) {
                generated++;
            }
        }
        double genS = (System.nanoTime() - g0) / 1e9;
        long s0 = System.nanoTime();
        ClusterResult result = run(cluster, durationS);
        double simS = (System.nanoTime() - s0) / 1e9;
        long heap = HeapPeaks.bytes();
        ClusterSummary.DeploymentSummary d = result.summary().deployments().get(0);
        out.printf(
                Locale.ROOT,
                "workload: %,d requests over %.0f s on %d replicas (%s router)%n",
                generated,
                durationS,
                replicas,
                router);
        out.printf(
                Locale.ROOT,
                "simulation: %.2f s (%,.0f requests/s of wall time, %,d steps)%n",
                simS,
                generated / simS,
                d.steps());
        out.printf(
                Locale.ROOT, "baseline, generation only: %.2f s; simulation/generation = %.1fx%n", genS, simS / genS);
        out.printf(Locale.ROOT, "peak heap: %,d MiB%n", heap >> 20);
        out.printf(
                Locale.ROOT,
                "outcome: %,d finished, %,d timed out, TTFT p90 %.1f ms, ITL p99 %.1f ms, KV hit %.1f%%%n",
                d.requestsFinished(),
                d.requestsTimedOut(),
                d.ttft().p90Ms(),
                d.itl().p99Ms(),
                100 * d.kvHitRate());
        return 0;
    }

    private ClusterResult run(ResolvedCluster cluster, double seconds) throws IOException {
        WorkloadGenerator g = new WorkloadGenerator(workload(seconds), null);
        return new ClusterSimulator(cluster)
                .run(
                        List.of(new ClusterSimulator.Traffic(0, g, Map.of())),
                        RunOptions.defaults().withWindowNs((long) (seconds * 1e9)));
    }

    private WorkloadSpec workload(double seconds) {
        return WorkloadSpecs.parse("""
        seed: 1
        duration_s: %s
        arrivals: {type: poisson, rate: %s}
        adapters: {count: 64, ranks: [16], popularity: {type: zipf, exponent: 1.0}, base_share: 0.2}
        lengths:
          prompt: {type: lognormal, mean: 400, std: 300}
          output: {type: lognormal, mean: 200, std: 150}
          max_prompt: 4096
          max_output: 1024
        """.formatted(seconds, rate), Path.of("<bench workload>"), WorkloadSpec.class);
    }
}
