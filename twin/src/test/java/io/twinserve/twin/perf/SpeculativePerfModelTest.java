package io.twinserve.twin.perf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.Profiles;
import org.junit.jupiter.api.Test;

/** Speculative steps: the expected tokens per step, and what a scheduler step costs. */
class SpeculativePerfModelTest {
    private static final Profiles PROFILES = Profiles.builtIn();
    private static final GpuProfile H100 = PROFILES.gpu("h100-sxm-80gb");
    private static final RooflinePerfModel LLAMA_8B =
            new RooflinePerfModel(PROFILES.model("llama-3.1-8b"), H100, 1, RooflineParams.defaults());
    private static final RooflinePerfModel LLAMA_1B =
            new RooflinePerfModel(PROFILES.model("llama-3.2-1b"), H100, 1, RooflineParams.defaults());

    /** Costs 5,000 ns per non-empty step plus 1,000 ns per new token, and loads adapters in rank ns. */
    private static final PerfModel TARGET = new PerfModel() {
        @Override
        public long stepNs(StepShape s) {
            return s.sequences == 0 ? 0 : 5_000 + 1_000L * s.newTokens;
        }

        @Override
        public long adapterLoadFromCpuNs(int rank, int slotRank) {
            return rank;
        }

        @Override
        public long adapterLoadFromStorageNs(int rank) {
            return 10L * rank;
        }
    };
    /** Costs 500 ns per step plus 100 ns per token. */
    private static final PerfModel DRAFT = new PerfModel() {
        @Override
        public long stepNs(StepShape s) {
            return s.sequences == 0 ? 0 : 500 + 100L * s.newTokens + (s.distinctAdapters > 0 ? 1_000_000 : 0);
        }

        @Override
        public long adapterLoadFromCpuNs(int rank, int slotRank) {
            throw new AssertionError("the draft loads no adapters");
        }

        @Override
        public long adapterLoadFromStorageNs(int rank) {
            throw new AssertionError("the draft loads no adapters");
        }
    };

    @Test
    void expectedTokensPerStepFollowLeviathanKalmanAndMatias() {
        assertThat(SpeculativePerfModel.expectedTokens(0.8, 4)).isCloseTo(3.3616, within(1e-12));
        assertThat(SpeculativePerfModel.expectedTokens(0.5, 1)).isCloseTo(1.5, within(1e-12));
        assertThat(SpeculativePerfModel.expectedTokens(0.9, 8)).isCloseTo((1 - Math.pow(0.9, 9)) / 0.1, within(1e-12));
        assertThat(SpeculativePerfModel.expectedTokens(1e-9, 8))
                .as("every draft token rejected")
                .isCloseTo(1, within(1e-6));
    }

    @Test
    void aMixedStepPaysItsPrefillInFullAndItsDecodesVerificationAndDraftsOverE() {
        StepShape s = new StepShape();
        s.addSequence(100, 0, false, true, true, false);
        for (int i = 0; i < 4; i++) {
            s.addSequence(1, 500, true, true, false, false);
        }
        s.distinctAdapters = 1;
        s.adapterRankSum = 8;
        SpeculativePerfModel m = new SpeculativePerfModel(TARGET, DRAFT, 4, 0.8);
        double prefill = 5_000 + 100 * 1_000;
        double verify = 5_000 + (100 + 4 * 5) * 1_000;
        double drafts = 4 * (500 + 4 * 100);
        assertThat(m.stepNs(s)).isEqualTo((long) (prefill + (verify - prefill + drafts) / 3.3616));
    }

    @Test
    void aStepWithoutDecodesCostsWhatTheTargetSaysAndAdapterLoadsAreTheTargets() {
        SpeculativePerfModel m = new SpeculativePerfModel(TARGET, DRAFT, 4, 0.8);
        StepShape prefill = new StepShape();
        prefill.addSequence(512, 0, false, true, true, false);
        assertThat(m.stepNs(prefill)).isEqualTo(TARGET.stepNs(prefill));
        assertThat(m.adapterLoadFromCpuNs(16, 32)).isEqualTo(16);
        assertThat(m.adapterLoadFromStorageNs(16)).isEqualTo(160);
    }

    @Test
    void decodingCostsLessPerTokenWithASmallDraftThatTheTargetMostlyAccepts() {
        SpeculativePerfModel m = new SpeculativePerfModel(LLAMA_8B, LLAMA_1B, 4, 0.9);
        for (int batch : new int[] {1, 8, 32}) {
            StepShape decode = StepShape.decodeBatch(batch, 1_000);
            assertThat(m.stepNs(decode)).as("batch %d", batch).isLessThan(LLAMA_8B.stepNs(decode));
        }
    }

    @Test
    void decodingCostsMorePerTokenWhenTheTargetRejectsAlmostEveryDraftToken() {
        SpeculativePerfModel m = new SpeculativePerfModel(LLAMA_8B, LLAMA_1B, 4, 0.01);
        StepShape decode = StepShape.decodeBatch(8, 1_000);
        assertThat(m.stepNs(decode)).isGreaterThan(LLAMA_8B.stepNs(decode));
    }
}
