package io.twinserve.twin.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RunSummary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A two-minute run with sessions and adapters gives the same JSON, byte for byte, every time. */
class ReplicaSimulatorDeterminismTest {
    private static final ObjectMapper JSON =
            new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    private static final String WORKLOAD = """
      name: determinism
      seed: %d
      duration_s: 120
      arrivals: {type: poisson, rate: 3}
      adapters:
        count: 24
        ranks: [8, 16, 32]
        popularity: {type: zipf, exponent: 1.0}
        base_share: 0.1
      lengths:
        prompt: {type: lognormal, mean: 300, std: 250}
        output: {type: lognormal, mean: 150, std: 120}
        max_total: 6000
      sessions:
        turns: {type: uniform, min: 1, max: 6}
        think_time_s: {type: exponential, mean: 6}
      """;

    private static ResolvedReplica replica;

    @BeforeAll
    static void resolve() throws IOException {
        // a small KV cache and few slots, so that prefix reuse, preemption and adapter loads all happen
        replica = SimTestSupport.replica("""
        model: llama-3.1-8b
        gpu: h100-64gb
        replica: {kv_cache_len: 24000, max_adapters: 4, max_cpu_adapters: 24, max_adapter_rank: 32, max_num_seqs: 64}
        perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b}
        """);
    }

    private static String runJson(long seed) throws IOException {
        WorkloadSpec spec = WorkloadSpecs.parse(WORKLOAD.formatted(seed), Path.of("determinism.yaml"));
        try (WorkloadGenerator gen = new WorkloadGenerator(spec, null)) {
            Map<String, Integer> ranks = new HashMap<>();
            for (Adapter a : gen.adapters()) {
                ranks.put(a.id(), a.rank());
            }
            RunOptions options = new RunOptions(null, false, false, 16, false);
            TraceReader workload = gen;
            RunSummary s =
                    new ReplicaSimulator(replica, ranks).run(workload, options).summary();
            return JSON.writeValueAsString(s);
        }
    }

    @Test
    void twoRunsOfTheSameWorkloadGiveByteIdenticalJson() throws IOException {
        String first = runJson(17);
        String second = runJson(17);
        assertThat(second).isEqualTo(first);

        // the run exercises what could make it order-dependent: sessions' cached prefixes, preemptions and loads
        JsonNode s = JSON.readTree(first);
        assertThat(s.get("requests_arrived").asLong()).isGreaterThan(500);
        assertThat(s.get("requests_finished").asLong())
                .isEqualTo(s.get("requests_arrived").asLong()
                        - s.get("requests_rejected").asLong());
        assertThat(s.get("kv_hit_rate").asDouble()).isPositive();
        assertThat(s.get("preemptions").asLong()).isPositive();
        assertThat(s.get("adapter_storage_loads").asLong()).isPositive();
        assertThat(s.get("adapter_loads").asLong())
                .isGreaterThan(s.get("adapter_storage_loads").asLong());
        assertThat(s.get("ttft").get("p99_ms").asDouble()).isPositive();
    }

    @Test
    void anotherSeedGivesAnotherRun() throws IOException {
        assertThat(runJson(18)).isNotEqualTo(runJson(17));
    }
}
