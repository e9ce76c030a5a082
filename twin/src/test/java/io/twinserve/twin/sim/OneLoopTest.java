package io.twinserve.twin.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RunSummary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A single replica's run is a one-replica cluster run; drained, it matches the plain single-replica loop
 * ({@link ReferenceReplicaLoop}) request for request, with sessions reusing their answers, adapters loaded
 * from storage into a small host tier, and loads that stall steps or overlap them. Both run lazy decoders:
 * with background loads this workload admits requests whose adapter is still loading with the blocks of a
 * large first chunk, and a later steady step that gave them a smaller chunk counted the surplus as free
 * for the others ("allocating 33 blocks with 12 free" before the fix in Scheduler.steadyFeasible).
 */
class OneLoopTest {
    private static final String CHAT = """
      seed: 11
      duration_s: 240
      arrivals: {type: poisson, rate: 4}
      adapters: {count: 24, ranks: [8, 16], popularity: {type: zipf, exponent: 0.8}, base_share: 0.1}
      lengths:
        prompt: {type: lognormal, mean: 400, std: 300}
        output: {type: lognormal, mean: 200, std: 150}
        max_prompt: 4096
        max_output: 1024
      sessions:
        turns: {type: uniform, min: 2, max: 6}
        think_time_s: {type: exponential, mean: 5}
        block_size: 16
      """;

    private static WorkloadGenerator workload() {
        return new WorkloadGenerator(WorkloadSpecs.parse(CHAT, Path.of("chat.yaml")), null);
    }

    @ParameterizedTest(name = "adapter_load {0}")
    @ValueSource(strings = {"sync", "async"})
    void aSingleReplicaRunMatchesThePlainLoopRequestForRequest(String adapterLoad) throws IOException {
        ResolvedReplica replica = SimTestSupport.replica("""
        model: llama-3.1-8b
        gpu: h100-sxm-80gb
        replica: {max_adapters: 4, max_cpu_adapters: 6, max_num_seqs: 48, kv_cache_len: 60000,
                  adapter_load: %s}
        """.formatted(adapterLoad));
        Map<String, Integer> ranks = new HashMap<>();
        for (Adapter a : workload().adapters()) {
            ranks.put(a.id(), a.rank());
        }
        RunOptions options = new RunOptions(240_000_000_000L, true, true, 16, false);

        RunResult expected = new ReferenceReplicaLoop(replica, ranks, true).run(workload(), options);
        RunResult actual = new ReplicaSimulator(replica, ranks, true).run(workload(), options);

        assertThat(actual.requests()).hasSizeGreaterThan(700).isEqualTo(expected.requests());
        RunSummary e = expected.summary();
        RunSummary a = actual.summary();
        assertThat(a.kvHitRate())
                .as("sessions reuse their prefixes")
                .isGreaterThan(0.2)
                .isEqualTo(e.kvHitRate());
        assertThat(a.adapterStorageLoads())
                .as("adapters come from storage")
                .isPositive()
                .isEqualTo(e.adapterStorageLoads());
        assertThat(a.adapterLoads()).isEqualTo(e.adapterLoads());
        assertThat(a.adapterLoadTimeS()).isEqualTo(e.adapterLoadTimeS());
        assertThat(a.steps()).isEqualTo(e.steps());
        assertThat(a.preemptions()).isEqualTo(e.preemptions());
        assertThat(a.ttft()).isEqualTo(e.ttft());
        assertThat(a.itl()).isEqualTo(e.itl());
        assertThat(a.e2e()).isEqualTo(e.e2e());
        assertThat(a.achieved()).isEqualTo(e.achieved());
        assertThat(a.maxWaiting()).isEqualTo(e.maxWaiting());
        assertThat(a.meanRunning()).isEqualTo(e.meanRunning());
        assertThat(a.memory()).isEqualTo(e.memory());
    }
}
