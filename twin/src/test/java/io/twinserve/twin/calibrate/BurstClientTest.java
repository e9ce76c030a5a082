package io.twinserve.twin.calibrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark client's time around a burst, read from the prefill bursts' TTFT quantiles. */
class BurstClientTest {
    private static final String HEADER = "model,requests_sent,mean_prompt_tokens,median_ttft_ms,p99_ttft_ms,duration_s";

    /** A uniform drain over {@code spanS} after {@code beforeS}, {@code afterS} more in the duration. */
    private static String run(int requests, double prompt, double beforeS, double spanS, double afterS) {
        double median = (beforeS + spanS / 2) * 1e3;
        double p99 = (beforeS + 0.99 * spanS) * 1e3;
        return "m," + requests + "," + prompt + "," + median + "," + p99 + "," + (beforeS + spanS + afterS);
    }

    @Test
    void aUniformDrainGivesBackTheTimeBeforeAndAfterPerRequestBeyondTheFirst(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("prefill.csv");
        Files.writeString(
                f,
                String.join(
                        "\n",
                        HEADER,
                        run(4096, 111, 4.095, 10, 2.0475),
                        run(2049, 407, 2.048, 21, 1.024),
                        // a burst of a few steps: too short to read a drain from, skipped
                        run(64, 23, 9, 0.02, 9)));
        BurstClient c = BurstClient.fit(new Csv(f), 2048);
        assertThat(c.runs()).isEqualTo(2);
        assertThat(c.beforePerRequestS()).isCloseTo(0.001, within(1e-9));
        assertThat(c.afterPerRequestS()).isCloseTo(0.0005, within(1e-9));
        assertThat(c.beforeS(1))
                .as("a lone request's own time is the twin's request latency")
                .isZero();
        assertThat(c.totalS(4096, 1)).isCloseTo(4095 * 0.0015, within(1e-9));
        assertThat(c.totalS(4096, 100))
                .as("answers of many tokens: the time before only")
                .isCloseTo(4095 * 0.001, within(1e-9));
    }

    @Test
    void withoutALongBurstThereIsNoClientTime(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("prefill.csv");
        Files.writeString(f, HEADER + "\n" + run(64, 23, 0.1, 0.02, 0.02));
        assertThat(BurstClient.fit(new Csv(f), 2048)).isEqualTo(BurstClient.NONE);
        assertThat(BurstClient.fit(null, 2048)).isEqualTo(BurstClient.NONE);
    }

    @Test
    void aBurstsTtftHoldsTheTimeBeforeAndItsRateTheTimeBeforeAndAfter() {
        RooflinePerfModel perf = new RooflinePerfModel(
                Profiles.builtIn().model("llama-3.1-8b"),
                Profiles.builtIn().gpu("h100-64gb"),
                1,
                RooflineParams.defaults());
        StepScenario full = new StepScenario(0, 0, 2048, 111, 0, 0, 0, 0, 0, 0);
        double tokens = 4096 * 111.0;
        TimingRow.ClientTime client = new TimingRow.ClientTime(tokens, 4.0, 2.0);
        double engine = new TimingRow("f", "f.csv", "k", "input_tokens_per_s", 0, full).predict(perf);
        double withClient = new TimingRow("f", "f.csv", "k", "input_tokens_per_s", 0, full, null, client).predict(perf);
        assertThat(withClient).isCloseTo(tokens / (tokens / engine + 6.0), within(1e-6));

        StepScenario lone = new StepScenario(0, 0, 111, 111, 0, 0, 0, 0, 0, 0);
        double ttft = new TimingRow("f", "f.csv", "k", "mean_ttft_ms", 0, lone).predict(perf);
        double burstTtft = new TimingRow("f", "f.csv", "k", "mean_ttft_ms", 0, lone, null, client).predict(perf);
        assertThat(burstTtft - ttft).isCloseTo(4_000, within(1e-6));
    }
}
