package io.twinserve.twin.calibrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflineParams.Term;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.Profiles;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TimingFitTest {
    private static final ModelProfile MODEL = Profiles.builtIn().model("llama-3.1-8b");
    private static final GpuProfile GPU = Profiles.builtIn().gpu("h100-64gb");

    private static RooflinePerfModel perf(RooflineParams p) {
        return new RooflinePerfModel(MODEL, GPU, 1, p);
    }

    /** Rows measured on a twin with known parameters, spanning batch sizes, adapter mixes and slots. */
    private static List<TimingRow> rowsOf(RooflineParams truth) {
        List<TimingRow> rows = new ArrayList<>();
        for (int b : new int[] {1, 8, 40, 120, 250}) {
            for (int slots : new int[] {0, 8, 64, 256}) {
                for (int d : new int[] {0, 1, 8, 64}) {
                    if (d > b || (slots == 0 && d > 0) || d > slots) {
                        continue;
                    }
                    StepScenario s = StepScenario.decode(b, 300, 100, slots, d, 8);
                    rows.add(new TimingRow(d == 0 ? "base" : "lora", "synthetic.csv", "b=" + b, "mean_itl_ms", 0, s));
                }
            }
        }
        RooflinePerfModel perf = perf(truth);
        List<TimingRow> measured = new ArrayList<>();
        for (TimingRow r : rows) {
            measured.add(new TimingRow(r.family(), r.file(), r.key(), r.quantity(), r.predict(perf), r.scenario()));
        }
        return measured;
    }

    @Test
    void recoversTheLoraCostsThatGeneratedTheRows() {
        RooflineParams truth = RooflineParams.defaults()
                .with(
                        List.of(
                                Term.LORA_ENABLED_NS,
                                Term.LORA_PER_SLOT_NS,
                                Term.LORA_FIXED_NS,
                                Term.LORA_PER_ADAPTER_NS,
                                Term.LORA_PER_TOKEN_NS,
                                Term.LORA_PER_TOKEN_ADAPTER_NS),
                        new double[] {2_000_000, 20_000, 1_000_000, 300_000, 30_000, 250});
        List<TimingFit.Free> free = List.of(
                new TimingFit.Free(Term.LORA_ENABLED_NS, 500_000, 0),
                new TimingFit.Free(Term.LORA_PER_SLOT_NS, 5_000, 0),
                new TimingFit.Free(Term.LORA_FIXED_NS, 5_000_000, 0),
                new TimingFit.Free(Term.LORA_PER_ADAPTER_NS, 100_000, 0),
                new TimingFit.Free(Term.LORA_PER_TOKEN_NS, 5_000, 0),
                new TimingFit.Free(Term.LORA_PER_TOKEN_ADAPTER_NS, 50, 0));
        TimingFit fit = new TimingFit(TimingFitTest::perf, RooflineParams.defaults(), free);
        RooflineParams p = fit.fit(rowsOf(truth));
        assertThat(p.loraEnabledNs()).isCloseTo(truth.loraEnabledNs(), within(0.01 * truth.loraEnabledNs()));
        assertThat(p.loraPerSlotNs()).isCloseTo(truth.loraPerSlotNs(), within(0.01 * truth.loraPerSlotNs()));
        assertThat(p.loraFixedNs()).isCloseTo(truth.loraFixedNs(), within(0.01 * truth.loraFixedNs()));
        assertThat(p.loraPerAdapterNs()).isCloseTo(truth.loraPerAdapterNs(), within(0.01 * truth.loraPerAdapterNs()));
        assertThat(p.loraPerTokenNs()).isCloseTo(truth.loraPerTokenNs(), within(0.01 * truth.loraPerTokenNs()));
        assertThat(p.loraPerTokenAdapterNs())
                .isCloseTo(truth.loraPerTokenAdapterNs(), within(0.01 * truth.loraPerTokenAdapterNs()));
    }

    @Test
    void aHeldOutFamilyIsPredictedFromTheOthers() {
        RooflineParams truth = RooflineParams.defaults()
                .with(List.of(Term.LORA_ENABLED_NS, Term.LORA_PER_SLOT_NS), new double[] {2_000_000, 20_000});
        List<TimingFit.Free> free = List.of(
                new TimingFit.Free(Term.LORA_ENABLED_NS, 500_000, 0),
                new TimingFit.Free(Term.LORA_PER_SLOT_NS, 5_000, 0));
        TimingFit fit = new TimingFit(TimingFitTest::perf, RooflineParams.defaults(), free);
        List<TimingFit.HeldOut> out = fit.leaveOneFamilyOut(rowsOf(truth));
        assertThat(out).extracting(TimingFit.HeldOut::family).containsExactly("base", "lora");
        // the LoRA-enabled base rows identify both slot terms, so the LoRA family is predicted exactly
        assertThat(out.get(1).maxAbsErrorPct()).isLessThan(0.5);
    }

    @Test
    void poissonStepsPrefillAtTheirArrivalRate() {
        RooflinePerfModel perf = perf(RooflineParams.defaults());
        StepScenario idle = new StepScenario(100, 300, 0, 200, 0, 0, 0, 0, 0, 0);
        StepScenario busy = new StepScenario(100, 300, 0, 200, 20, 0, 0, 0, 0, 0);
        double t = busy.stepMs(perf);
        assertThat(t).isGreaterThan(idle.stepMs(perf));
        // the fixed point: the step prefills what arrives during it
        assertThat(busy.prefillTokensPerS(t)).isCloseTo(20 * 200, within(1e-6));
    }
}
