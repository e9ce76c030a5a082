package io.twinserve.engine.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The logit bias, the presence, frequency and repetition penalties, min-p and log-probabilities, each
 * against values computed by hand from vLLM's and OpenAI's formulas.
 */
class LogitProcessingTest {
    private static SamplingParams params(
            double temperature,
            double presence,
            double frequency,
            double repetition,
            double minP,
            Map<Integer, Float> bias,
            int logprobs) {
        return new SamplingParams(
                temperature,
                0,
                1,
                5,
                64,
                List.of(),
                List.of(),
                false,
                presence,
                frequency,
                repetition,
                minP,
                bias,
                logprobs);
    }

    private static float[] processed(Sampler sampler, float[] logits) {
        float[] row = logits.clone();
        sampler.process(row, row.length);
        return row;
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfPromptAndOutputTokens() {
        float[] logits = {4f, 2f, -1f, -2f, 0.5f};
        Sampler sampler = new Sampler(params(0, 0, 0, 2, 0, Map.of(), -1), new int[] {1, 3, 3});
        // prompt tokens 1 (2 / 2) and 3 (-2 * 2); the others as they were
        assertThat(processed(sampler, logits)).containsExactly(4f, 1f, -1f, -4f, 0.5f);
        assertThat(sampler.sample(logits, 0, logits.length)).isEqualTo(0);
        // the output token 0 now counts too, once however often it was seen
        assertThat(processed(sampler, logits)).containsExactly(2f, 1f, -1f, -4f, 0.5f);
    }

    @Test
    void frequencyPenaltyCountsEachOutputOccurrenceAndPresencePenaltyOnlyTheFirst() {
        float[] logits = {3f, 2.9f, 0f};
        // the prompt's token 2 is not penalised: these two penalties look only at the output
        Sampler sampler = new Sampler(params(0, 0.25, 0.5, 1, 0, Map.of(), -1), new int[] {2, 2});
        int[] picked = new int[3];
        for (int i = 0; i < 3; i++) {
            picked[i] = sampler.sample(logits, 0, logits.length);
        }
        // 3 -> 0; 3 - 0.5 - 0.25 = 2.25 < 2.9 -> 1; 2.9 - 0.75 = 2.15 < 2.25 -> 0
        assertThat(picked).containsExactly(0, 1, 0);
        // token 0 twice: 3 - 2 * 0.5 - 0.25; token 1 once: 2.9 - 0.5 - 0.25
        assertThat(processed(sampler, logits)).containsExactly(1.75f, 2.15f, 0f);
    }

    @Test
    void negativePenaltiesRewardRepetition() {
        float[] logits = {3f, 2.9f};
        Sampler sampler = new Sampler(params(0, -0.5, -1, 1, 0, Map.of(), -1), new int[] {1});
        assertThat(sampler.sample(logits, 0, 2)).isEqualTo(0);
        assertThat(processed(sampler, logits)).containsExactly(4.5f, 2.9f);
    }

    @Test
    void logitBiasIsAddedBeforeThePenaltiesAndCanForceAToken() {
        float[] logits = {1f, 2f, 3f};
        Sampler sampler = new Sampler(params(0, 0, 0, 1, 0, Map.of(0, 5f, 2, -1.5f), -1));
        assertThat(processed(sampler, logits)).containsExactly(6f, 2f, 1.5f);
        assertThat(sampler.sample(logits, 0, 3)).isEqualTo(0);
        // bias, then repetition: (3 + 1) / 2 for the prompt's token 2
        Sampler both = new Sampler(params(0, 0, 0, 2, 0, Map.of(2, 1f), -1), new int[] {2});
        assertThat(processed(both, logits)).containsExactly(1f, 2f, 2f);
        // +100 wins over any spread of a real model's logits; the caller's row is left as it was
        float[] sampled = {30f, -20f, 10f};
        Sampler forced = new Sampler(params(1.0, 0, 0, 1, 0, Map.of(1, 100f), -1));
        for (int i = 0; i < 100; i++) {
            assertThat(forced.sample(sampled, 0, 3)).isEqualTo(1);
        }
        assertThat(sampled).containsExactly(30f, -20f, 10f);
    }

    @Test
    void minPKeepsTokensAtLeastThatFractionOfTheTopProbabilityAndRenormalises() {
        // probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1; min_p 0.4 keeps p >= 0.2: tokens 0 and 1
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        Sampler sampler = new Sampler(params(1.0, 0, 0, 1, 0.4, Map.of(), -1));
        int draws = 200_000;
        double[] f = new double[4];
        for (int i = 0; i < draws; i++) {
            f[sampler.sample(logits, 0, 4)] += 1.0 / draws;
        }
        // 0.5 / 0.8 and 0.3 / 0.8; a frequency's standard deviation is about 0.0011
        assertThat(f[0]).isCloseTo(0.625, within(0.006));
        assertThat(f[1]).isCloseTo(0.375, within(0.006));
        assertThat(f[2]).isZero();
        assertThat(f[3]).isZero();
    }

    @Test
    void minPOfOneIsGreedyAtAnyTemperature() {
        float[] logits = {0.3f, 1.1f, 1.0f, -2f, 1.09f};
        Sampler sampler = new Sampler(params(2.0, 0, 0, 1, 1.0, Map.of(), -1));
        for (int i = 0; i < 1000; i++) {
            assertThat(sampler.sample(logits, 0, logits.length)).isEqualTo(1);
        }
    }

    @Test
    void logprobsAreTheLogSoftmaxOfTheRawLogitsWithTheTopOnesInOrder() {
        float[] logits = {1f, 2f, 3f};
        // log(e + e^2 + e^3) = 3 + log(1 + e^-1 + e^-2) = 3.4076059644
        double logSumExp = 3.4076059644;
        Sampler sampler = new Sampler(params(0, 0, 0, 1, 0, Map.of(), 2));
        assertThat(sampler.sample(logits, 0, 3)).isEqualTo(2);
        assertThat((double) sampler.sampledLogprob()).isCloseTo(3 - logSumExp, within(1e-5));
        assertThat(sampler.topCount()).isEqualTo(2);
        assertThat(sampler.topId(0)).isEqualTo(2);
        assertThat((double) sampler.topLogprob(0)).isCloseTo(3 - logSumExp, within(1e-5));
        assertThat(sampler.topId(1)).isEqualTo(1);
        assertThat((double) sampler.topLogprob(1)).isCloseTo(2 - logSumExp, within(1e-5));
        // the raw distribution: a bias that forces token 0 leaves its log-probability as the model gave it
        Sampler biased = new Sampler(params(0, 0, 0, 1, 0, Map.of(0, 100f), 0));
        assertThat(biased.sample(logits, 0, 3)).isEqualTo(0);
        assertThat((double) biased.sampledLogprob()).isCloseTo(1 - logSumExp, within(1e-5));
        assertThat(biased.topCount()).isZero();
    }

    @Test
    void topLogprobsBreakTiesByLowerIdAndStopAtTheVocabulary() {
        float[] logits = {1f, 1f, 0f};
        Sampler sampler = new Sampler(params(0, 0, 0, 1, 0, Map.of(), 20));
        TokenLogprobs lp;
        sampler.sample(logits, 0, 3);
        lp = TokenLogprobs.of(sampler);
        assertThat(lp.topIds()).containsExactly(0, 1, 2);
        assertThat(lp.topLogprobs()[0]).isEqualTo(lp.topLogprobs()[1]);
        assertThat(lp.topLogprobs()[1]).isGreaterThan(lp.topLogprobs()[2]);
        assertThat(lp.logprob()).isEqualTo(lp.topLogprobs()[0]);
    }

    @Test
    void tokenCountsGrowPastTheirFirstCapacityWithoutLosingCounts() {
        TokenCounts counts = new TokenCounts(new int[] {7, 7, 9}, 4);
        for (int round = 0; round < 3; round++) {
            for (int id = 0; id < 5000; id++) {
                counts.addOutput(id * 31);
            }
        }
        assertThat(counts.size()).isEqualTo(5000 + 2);
        int sevens = 0;
        for (int i = 0; i < counts.size(); i++) {
            int id = counts.id(i);
            assertThat(counts.outputCount(i)).as("token %d", id).isEqualTo(id % 31 == 0 && id < 5000 * 31 ? 3 : 0);
            if (counts.inPrompt(i)) {
                sevens++;
                assertThat(id).isIn(7, 9);
            }
        }
        assertThat(sevens).isEqualTo(2);
    }

    @Test
    void refusesOutOfRangeSettingsNamingThem() {
        assertThatThrownBy(() -> params(1, 2.5, 0, 1, 0, Map.of(), -1)).hasMessageContaining("presence_penalty");
        assertThatThrownBy(() -> params(1, 0, -3, 1, 0, Map.of(), -1)).hasMessageContaining("frequency_penalty");
        assertThatThrownBy(() -> params(1, 0, 0, 0, 0, Map.of(), -1)).hasMessageContaining("repetition_penalty");
        assertThatThrownBy(() -> params(1, 0, 0, 1, 1.5, Map.of(), -1)).hasMessageContaining("min_p");
        assertThatThrownBy(() -> params(1, 0, 0, 1, 0, Map.of(3, 101f), -1)).hasMessageContaining("logit_bias");
        assertThatThrownBy(() -> params(1, 0, 0, 1, 0, Map.of(), 21)).hasMessageContaining("logprobs");
    }
}
