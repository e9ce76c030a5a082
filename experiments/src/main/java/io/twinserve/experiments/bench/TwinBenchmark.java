package io.twinserve.experiments.bench;

import io.twinserve.traces.Request;
import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.perf.PerfModelSpec;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReplicaSimulator;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The twin's speed on the adapter-caching study's scenarios: one-hour single-replica simulations of
 * per-adapter Poisson streams in three rate tiers, ranks 8/16/32 round-robin, Llama-3.1-8B on the
 * calibrated 64 GB H100. Each scenario is also generated without simulating, as the baseline.
 */
public final class TwinBenchmark {
    /** Served adapters of the grid (the study's list, up to 384). */
    public static final int[] SERVED = {8, 16, 32, 64, 96, 128, 160, 192, 256, 320, 384};
    /** Per-adapter rate triples (3 distinct values of the study's list each). */
    public static final double[][] RATES = {
        {0.1, 0.05, 0.025}, {0.4, 0.2, 0.1}, {0.0125, 0.00625, 0.003125}, {0.8, 0.4, 0.1}, {0.05, 0.025, 0.003125}
    };
    /** Light-load rate triples (at most 0.1 requests/s per adapter), where quiet decode steps dominate. */
    public static final double[][] LIGHT_RATES = {
        {0.1, 0.05, 0.025}, {0.025, 0.0125, 0.00625}, {0.0125, 0.00625, 0.003125}
    };
    /** Served adapters of the light-load scenarios (the study's workload at 96 adapters, and the most). */
    public static final int[] LIGHT_SERVED = {96, 384};
    /** The heaviest scenario of the issue: 384 adapters at 3.2 / 1.6 / 0.8 requests/s each. */
    public static final double[] HEAVY_RATES = {3.2, 1.6, 0.8};

    /** One measured scenario. */
    public record Timing(
            int served, double[] rates, long arrivals, double simulateMs, double generateMs, RunSummary summary) {}

    private final Profiles profiles = Profiles.builtIn();

    public static String workloadYaml(int served, double[] rates, double durationS) {
        return """
        name: study-%d-adapters
        seed: 1
        duration_s: %s
        arrivals: {type: poisson, rate_tiers: [%s, %s, %s]}
        adapters: {count: %d, ranks: [8, 16, 32]}
        lengths:
          prompt: {type: lognormal, mean: 223.5, std: 250}
          output: {type: lognormal, mean: 195.7, std: 180}
          min_prompt: 4
          max_prompt: 1024
          min_output: 4
          max_total: 2048
        """.formatted(served, durationS, rates[0], rates[1], rates[2], served);
    }

    public ResolvedReplica replica(int served) throws IOException {
        int slots = Math.min(served, 32);
        ReplicaSpec r = new ReplicaSpec(1, null, 0.9, slots, served, 32, 2048, 2048, 16, true, false, null, null);
        return Deployments.resolve(
                new DeploymentSpec(
                        "bench",
                        "llama-3.1-8b",
                        "h100-64gb",
                        r,
                        new PerfModelSpec.Roofline("vllm-0.8.5-h100-64gb/llama-3.1-8b"),
                        null),
                profiles);
    }

    /** Simulates one scenario and times it, with the bare generation of its workload as the baseline. */
    public Timing measure(int served, double[] rates, double durationS) throws IOException {
        return measure(served, rates, durationS, true);
    }

    /**
     * As {@link #measure(int, double[], double)}, with decode stretches on or off (off: every step one by
     * one, the baseline they are compared with).
     */
    public Timing measure(int served, double[] rates, double durationS, boolean stretches) throws IOException {
        WorkloadSpec spec = WorkloadSpecs.parse(workloadYaml(served, rates, durationS), Path.of("bench"));
        ResolvedReplica replica = replica(served);
        long t0 = System.nanoTime();
        long arrivals = 0;
        try (WorkloadGenerator g = new WorkloadGenerator(spec, null)) {
            Request r;
            while ((r = g.next()) != null) {
                arrivals += r.promptTokens() > 0 ? 1 : 0;
            }
        }
        long t1 = System.nanoTime();
        RunSummary summary;
        try (WorkloadGenerator g = new WorkloadGenerator(spec, null)) {
            Map<String, Integer> ranks = new HashMap<>();
            for (Adapter a : g.adapters()) {
                ranks.put(a.id(), a.rank());
            }
            summary = new ReplicaSimulator(replica, ranks, true, stretches)
                    .run(g, RunOptions.defaults().withWindowNs((long) (durationS * 1e9)))
                    .summary();
        }
        long t2 = System.nanoTime();
        return new Timing(served, rates, arrivals, (t2 - t1) / 1e6, (t1 - t0) / 1e6, summary);
    }

    /** Every grid scenario, one hour each. */
    public List<Timing> grid(double durationS) throws IOException {
        return grid(durationS, true);
    }

    /** Every grid scenario, one hour each, with decode stretches on or off. */
    public List<Timing> grid(double durationS, boolean stretches) throws IOException {
        List<Timing> out = new ArrayList<>();
        for (int served : SERVED) {
            for (double[] rates : RATES) {
                out.add(measure(served, rates, durationS, stretches));
            }
        }
        return out;
    }
}
