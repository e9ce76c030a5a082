package io.twinserve.twin.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RequestRecord;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Running quiet steady steps as decode stretches is exact: every request gets the same times, and the
 * summary the same figures, as stepping one by one (with and without lazy decoders).
 */
class DecodeStretchEquivalenceTest {

    private static final String DEPLOYMENT = """
      model: %s
      gpu: h100-64gb
      replica: {kv_cache_len: %d, max_adapters: 4, max_cpu_adapters: 8, max_adapter_rank: 32, max_num_seqs: %d, max_num_batched_tokens: 512, prefix_caching: %s, adapter_load: %s}
      perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/%s}
      """;
    private static final String WORKLOAD = """
      seed: %d
      duration_s: 300
      arrivals: {type: gamma, rate: %s, cv: %s}
      adapters: {count: 24, ranks: [8, 16, 32], base_share: 0.2}
      lengths: {prompt: {type: lognormal, mean: 300, std: 250}, output: {type: lognormal, mean: 200, std: 150}, max_total: 4000}
      %s
      """;

    /**
     * Columns: seed, model, KV cache tokens, max_num_seqs, prefix caching, adapter load, rate, cv, window s,
     * drain, stop when starving, client block (none when empty).
     */
    @ParameterizedTest(name = "[{index}] seed {0} {1} kv {2} rate {6} cv {7} window {8} drain {9} stop {10} {11}")
    @CsvSource({
        // light load: long stretches between arrivals
        "1, llama-3.1-8b, 250000, 256, true, sync, 0.2, 1, 300, false, false, ",
        "2, qwen2.5-7b, 250000, 256, false, async, 0.5, 1, 300, false, false, ",
        // bursts
        "3, llama-3.1-8b, 250000, 256, true, sync, 2, 4, 300, false, false, ",
        // a small KV cache: preemptions and block boundaries that do not fit
        "4, llama-3.1-8b, 12000, 64, false, sync, 3, 2, 300, false, false, ",
        // max_num_seqs holds requests back while the running ones decode
        "5, llama-3.1-8b, 250000, 4, true, sync, 2, 1, 300, false, false, ",
        // a window cut before the traffic ends, and the drain after it
        "6, qwen2.5-7b, 250000, 256, true, sync, 1, 2, 120, false, false, ",
        "7, qwen2.5-7b, 250000, 256, true, async, 1, 2, 120, true, false, ",
        // an overloaded replica stopped once it is settled as starving
        "8, llama-3.1-8b, 20000, 32, false, sync, 12, 1, 300, false, true, ",
        // very light load: stretches of hundreds of steps, cut by timeline samples and starvation checkpoints
        "9, llama-3.1-8b, 250000, 256, true, sync, 0.02, 1, 300, false, true, ",
        "10, qwen2.5-7b, 250000, 256, false, async, 0.05, 3, 200, true, false, ",
        // a client that holds requests back: sends when others end, in the middle of what would be a stretch
        "11, llama-3.1-8b, 250000, 256, true, sync, 3, 2, 300, false, false, 'client: {max_outstanding: 3}'",
        "12, qwen2.5-7b, 30000, 64, false, sync, 6, 1, 200, true, false, 'client: {max_outstanding: 8}'",
        "13, llama-3.1-8b, 250000, 256, true, sync, 1, 1, 300, false, false, 'client: {users: 4, think_time_s: 0.3}'",
    })
    void stretchesGiveTheSameRecordsAndSummaryAsSteps(
            int seed,
            String model,
            int kv,
            int maxSeqs,
            boolean prefix,
            String load,
            String rate,
            String cv,
            int windowS,
            boolean drain,
            boolean stop,
            String client)
            throws Exception {
        ResolvedReplica replica = SimTestSupport.replica(DEPLOYMENT.formatted(model, kv, maxSeqs, prefix, load, model));
        WorkloadSpec w = WorkloadSpecs.parse(
                WORKLOAD.formatted(seed, rate, cv, client == null ? "" : client),
                Path.of("w.yaml"),
                WorkloadSpec.class);
        RunOptions options =
                new RunOptions(windowS * 1_000_000_000L, drain, true, 16, seed % 2 == 0).withStopWhenStarving(stop);
        ReplicaSimulator bulk = simulator(replica, w, true, true);
        RunResult stretched = run(bulk, w, options);
        RunResult stepped = run(simulator(replica, w, true, false), w, options);
        RunResult eager = run(simulator(replica, w, false, false), w, options);
        assertThat(stretched.requests()).isNotEmpty();
        // stretches are taken: steps run in bulk, not one by one
        assertThat(bulk.bulkSteps())
                .as("steps run in bulk")
                .isGreaterThan(stretched.summary().steps() / 20);
        for (RunResult other : List.of(stepped, eager)) {
            List<RequestRecord> a = stretched.requests();
            List<RequestRecord> b = other.requests();
            assertThat(a).hasSameSizeAs(b);
            for (int i = 0; i < a.size(); i++) {
                assertThat(a.get(i)).as("request %d", i).isEqualTo(b.get(i));
            }
            assertThat(stretched.summary()).isEqualTo(other.summary());
            assertThat(stretched.stoppedNs()).isEqualTo(other.stoppedNs());
        }
    }

    private static ReplicaSimulator simulator(ResolvedReplica replica, WorkloadSpec w, boolean lazy, boolean stretches)
            throws Exception {
        try (WorkloadGenerator g = new WorkloadGenerator(w, null)) {
            Map<String, Integer> ranks = new HashMap<>();
            for (Adapter ad : g.adapters()) {
                ranks.put(ad.id(), ad.rank());
            }
            return new ReplicaSimulator(replica, ranks, lazy, stretches);
        }
    }

    private static RunResult run(ReplicaSimulator simulator, WorkloadSpec w, RunOptions options) throws Exception {
        try (WorkloadGenerator g = new WorkloadGenerator(w, null)) {
            return simulator.run(g, options);
        }
    }
}
