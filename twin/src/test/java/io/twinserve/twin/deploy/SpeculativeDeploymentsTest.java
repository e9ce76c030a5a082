package io.twinserve.twin.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.memory.MemoryBreakdown;
import io.twinserve.twin.perf.SpeculativePerfModel;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReplicaSimulator;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The replica key speculative: its checks, the draft's memory and what it does to a run. */
class SpeculativeDeploymentsTest {
    private static final Profiles PROFILES = Profiles.builtIn();
    private static final String LLAMA_8B_ON_H100 = "model: llama-3.1-8b\ngpu: h100-sxm-80gb\n";

    private static DeploymentSpec parse(String yaml) {
        return Deployments.parse(yaml, Path.of("d.yaml"));
    }

    private static ResolvedReplica resolve(String yaml) throws IOException {
        return Deployments.resolve(parse(yaml), PROFILES);
    }

    private static String keyPath(Throwable e) {
        return ((SpecException) e).keyPath();
    }

    @Test
    void draftStepsOutsideOneToEightAreRejectedNamingTheKey() {
        for (int steps : new int[] {0, 9}) {
            assertThatThrownBy(() -> parse(LLAMA_8B_ON_H100 + "replica:\n  speculative: {num_draft_steps: " + steps
                            + ", draft_model: llama-3.2-1b, acceptance_rate: 0.7}\n"))
                    .isInstanceOf(SpecException.class)
                    .satisfies(e -> assertThat(keyPath(e)).isEqualTo("replica.speculative.num_draft_steps"))
                    .hasMessageContaining("must be between 1 and 8, got " + steps);
        }
    }

    @Test
    void anAcceptanceRateOutsideZeroToOneOrAMissingDraftIsRejectedNamingTheKey() {
        assertThatThrownBy(() -> parse(LLAMA_8B_ON_H100 + "replica:\n  speculative: {num_draft_steps: 4,"
                        + " draft_model: llama-3.2-1b, acceptance_rate: 1.0}\n"))
                .isInstanceOf(SpecException.class)
                .satisfies(e -> assertThat(keyPath(e)).isEqualTo("replica.speculative.acceptance_rate"))
                .hasMessageContaining("must be in (0, 1), got 1.0");
        assertThatThrownBy(() -> parse(LLAMA_8B_ON_H100 + "replica:\n  speculative: {num_draft_steps: 4,"
                        + " acceptance_rate: 0.5}\n"))
                .isInstanceOf(SpecException.class)
                .satisfies(e -> assertThat(keyPath(e)).isEqualTo("replica.speculative.draft_model"));
        assertThatThrownBy(() -> resolve(LLAMA_8B_ON_H100 + "replica:\n  speculative: {num_draft_steps: 4,"
                        + " draft_model: llama-3.2-1c, acceptance_rate: 0.5}\n"))
                .isInstanceOf(SpecException.class)
                .satisfies(e -> assertThat(keyPath(e)).isEqualTo("replica.speculative.draft_model"))
                .hasMessageContaining("did you mean 'llama-3.2-1b'?");
    }

    @Test
    void theDraftsWeightsAndKvCacheComeOffTheTargetsMemory() throws IOException {
        String speculative = "  speculative: {num_draft_steps: 4, draft_model: llama-3.2-1b, acceptance_rate: 0.8}\n";
        ResolvedReplica plain = resolve(LLAMA_8B_ON_H100 + "replica:\n  max_adapters: 0\n");
        ResolvedReplica withDraft = resolve(LLAMA_8B_ON_H100 + "replica:\n  max_adapters: 0\n" + speculative);
        ModelProfile draft = PROFILES.model("llama-3.2-1b");
        ModelProfile target = PROFILES.model("llama-3.1-8b");
        MemoryBreakdown m = withDraft.memory();
        assertThat(m.weightBytes()).isEqualTo(target.weightBytes() + draft.weightBytes());
        assertThat(m.kvCacheBytes() / m.kvCacheTokens()).isEqualTo(target.kvBytesPerToken() + draft.kvBytesPerToken());
        assertThat(m.kvCacheTokens()).isLessThan(plain.memory().kvCacheTokens());
        assertThat(withDraft.scheduler().kvCacheTokens()).isEqualTo(m.kvCacheTokens());
        assertThat(withDraft.perf()).isInstanceOfSatisfying(SpeculativePerfModel.class, p -> {
            assertThat(p.draftSteps()).isEqualTo(4);
            assertThat(p.expectedTokens()).isEqualTo(SpeculativePerfModel.expectedTokens(0.8, 4));
        });
    }

    @Test
    void aWellAcceptedDraftShortensTheInterTokenLatencyOfASimulatedRun() throws IOException {
        String speculative = "  speculative: {num_draft_steps: 4, draft_model: llama-3.2-1b, acceptance_rate: 0.85}\n";
        ResolvedReplica plain = resolve(LLAMA_8B_ON_H100 + "replica:\n  max_adapters: 0\n");
        ResolvedReplica withDraft = resolve(LLAMA_8B_ON_H100 + "replica:\n  max_adapters: 0\n" + speculative);
        List<Request> requests = IntStream.range(0, 16)
                .mapToObj(i -> Request.of(i, i * 50_000_000L, null, 500, 200))
                .toList();
        double plainItlMs = new ReplicaSimulator(plain, Map.of())
                .run(trace(requests), RunOptions.defaults())
                .summary()
                .itl()
                .meanMs();
        double speculativeItlMs = new ReplicaSimulator(withDraft, Map.of())
                .run(trace(requests), RunOptions.defaults())
                .summary()
                .itl()
                .meanMs();
        assertThat(speculativeItlMs).isLessThan(plainItlMs);
    }

    private static TraceReader trace(List<Request> requests) {
        Iterator<Request> it = requests.iterator();
        return () -> it.hasNext() ? it.next() : null;
    }
}
