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
import org.junit.jupiter.params.provider.ValueSource;

/** Counting steady decodes in bulk is exact: the same requests get the same times as visiting each one. */
class LazyDecodeEquivalenceTest {

    private static final String DEPLOYMENT = """
      model: llama-3.1-8b
      gpu: h100-64gb
      replica: {kv_cache_len: %d, max_adapters: 4, max_adapter_rank: 16, max_num_seqs: %d, max_num_batched_tokens: 512, prefix_caching: %s}
      perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b}
      """;
    private static final String WORKLOAD = """
      seed: %d
      duration_s: 120
      arrivals: {type: poisson, rate: 4}
      adapters: {count: 10, ranks: [8, 16], base_share: 0.2}
      lengths: {prompt: {type: lognormal, mean: 300, std: 250}, output: {type: lognormal, mean: 120, std: 100}, max_total: 4000}
      sessions: {turns: {type: uniform, min: 1, max: 3}, think_time_s: {type: exponential, mean: 5}}
      """;

    private static final String ASYNC_DEPLOYMENT = """
      model: qwen2.5-7b
      gpu: h100-64gb
      replica: {max_adapters: 16, max_cpu_adapters: 24, max_adapter_rank: 32, adapter_load: async, prefix_caching: false}
      perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/qwen2.5-7b}
      """;
    private static final String ASYNC_WORKLOAD = """
      seed: %d
      duration_s: 120
      arrivals: {type: gamma, rate: 6, cv: 2}
      adapters: {count: 64, ranks: [8, 32], popularity: {type: zipf, exponent: 0.8}}
      lengths: {prompt: {type: uniform, min: 50, max: 800}, output: {type: uniform, min: 20, max: 300}}
      """;

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void lazyAndEagerStepsGiveTheSameRecordsAndSummary(int seed) throws Exception {
        // a small KV cache forces preemptions (plain steps) between long stretches of steady decoding
        int kv = seed % 2 == 0 ? 20_000 : 250_000;
        ResolvedReplica replica = SimTestSupport.replica(DEPLOYMENT.formatted(kv, seed % 2 == 0 ? 64 : 256, true));
        WorkloadSpec w = WorkloadSpecs.parse(WORKLOAD.formatted(seed), Path.of("w.yaml"), WorkloadSpec.class);
        compare(replica, w, true);
    }

    @ParameterizedTest
    @ValueSource(ints = {7, 8, 9})
    void lazyAndEagerAgreeWithCountedBlockBoundariesUnderKvPressure(int seed) throws Exception {
        // without prefix caching the twin counts blocks and lazy decoders' boundaries by step phase; a cache
        // this small makes boundary blocks not fit (plain steps, preemptions) again and again
        ResolvedReplica replica = SimTestSupport.replica(DEPLOYMENT.formatted(seed == 9 ? 8_000 : 20_000, 64, false));
        WorkloadSpec w = WorkloadSpecs.parse(WORKLOAD.formatted(seed), Path.of("w.yaml"), WorkloadSpec.class);
        RunResult lazy = compare(replica, w, true);
        assertThat(lazy.summary().preemptions())
                .as("the cache is small enough to preempt")
                .isPositive();
    }

    @ParameterizedTest
    @ValueSource(ints = {5, 6})
    void lazyAndEagerAgreeWithBackgroundAdapterLoadsFromStorage(int seed) throws Exception {
        ResolvedReplica replica = SimTestSupport.replica(ASYNC_DEPLOYMENT);
        WorkloadSpec w = WorkloadSpecs.parse(ASYNC_WORKLOAD.formatted(seed), Path.of("w.yaml"), WorkloadSpec.class);
        compare(replica, w, false);
    }

    private static RunResult compare(ResolvedReplica replica, WorkloadSpec w, boolean preload) throws Exception {
        RunResult lazy = run(replica, w, true, preload);
        RunResult eager = run(replica, w, false, preload);
        List<RequestRecord> a = lazy.requests();
        List<RequestRecord> b = eager.requests();
        assertThat(a).hasSameSizeAs(b);
        for (int i = 0; i < a.size(); i++) {
            assertThat(a.get(i)).as("request %d", i).isEqualTo(b.get(i));
        }
        assertThat(lazy.summary()).isEqualTo(eager.summary());
        return lazy;
    }

    private static RunResult run(ResolvedReplica replica, WorkloadSpec w, boolean lazy, boolean preload)
            throws Exception {
        try (WorkloadGenerator g = new WorkloadGenerator(w, null)) {
            Map<String, Integer> ranks = new HashMap<>();
            for (Adapter ad : g.adapters()) {
                ranks.put(ad.id(), ad.rank());
            }
            return new ReplicaSimulator(replica, ranks, lazy)
                    .run(g, new RunOptions(120_000_000_000L, false, true, 16, preload));
        }
    }
}
