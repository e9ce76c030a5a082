package io.twinserve.twin.calibrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflineParams.Term;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.profile.Profiles;
import org.junit.jupiter.api.Test;

class TimingRowTest {
    private static final RooflineParams PARAMS = RooflineParams.defaults().with(Term.REQUEST_LATENCY_NS, 4_000_000);
    private static final RooflinePerfModel PERF = new RooflinePerfModel(
            Profiles.builtIn().model("llama-3.1-8b"), Profiles.builtIn().gpu("h100-64gb"), 1, PARAMS);

    private static double stepMs(long tokens, long prompt) {
        return new StepScenario(0, 0, tokens, prompt, 0, 0, 0, 0, 0, 0).stepMs(PERF);
    }

    @Test
    void aShortBurstsMeanTtftIsTheMeanEndOfTheStepThatCompletesEachPromptPlusTheRequestLatency() {
        // three prompts of 1,000 tokens in 2,048-token steps: the first two end in step one, the third in step two
        TimingRow row = new TimingRow(
                "prefill_bursts",
                "f.csv",
                "k",
                "mean_ttft_ms",
                0,
                new StepScenario(0, 0, 2048, 1000, 0, 0, 0, 0, 0, 0),
                new TimingRow.Burst(3, 2048),
                null);
        double first = stepMs(2048, 1000);
        double second = stepMs(952, 1000);
        assertThat(row.predict(PERF)).isCloseTo((2 * first + (first + second)) / 3 + 4.0, within(1e-9));
    }

    @Test
    void aStepLengthHasNoRequestLatencyButATtftHasIt() {
        StepScenario s = new StepScenario(0, 0, 512, 512, 0, 0, 0, 0, 0, 0);
        double step = s.stepMs(PERF);
        assertThat(new TimingRow("f", "f.csv", "k", "mean_itl_ms", 0, s).predict(PERF))
                .isEqualTo(step);
        assertThat(new TimingRow("f", "f.csv", "k", "mean_ttft_ms", 0, s).predict(PERF))
                .isCloseTo(step + 4.0, within(1e-9));
    }
}
