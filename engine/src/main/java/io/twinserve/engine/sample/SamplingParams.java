package io.twinserve.engine.sample;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How one request picks its tokens and when it stops, with vLLM's meanings for every field.
 *
 * @param temperature 0 for greedy
 * @param topK 0 for no limit
 * @param topP 1 for no limit
 * @param seed seeds this request's own random stream, so its tokens do not depend on its batch-mates
 * @param stopStrings generation ends when the text contains one (the stop string is not returned)
 * @param stopTokenIds generation ends on one of these tokens (besides the model's end-of-sequence ids when
 *     {@code ignoreEos} is false)
 * @param presencePenalty subtracted once from the logit of every token generated so far, -2 to 2 (0: none)
 * @param frequencyPenalty subtracted from a token's logit once per time it was generated, -2 to 2 (0: none)
 * @param repetitionPenalty above 0, 1 for none: the logit of a token in the prompt or the output so far is
 *     divided by it when positive, multiplied when negative (vLLM's and CTRL's rule)
 * @param minP 0 to 1 (0: none): tokens whose probability is below {@code minP} times the top token's are
 *     dropped before top-k and top-p
 * @param logitBias added to the logits of the given token ids before everything else, -100 to 100 each
 * @param logprobs -1 for none; 0 to 20: return the sampled token's log-probability and this many most
 *     likely alternatives (see {@link Sampler} for which distribution)
 */
public record SamplingParams(
        double temperature,
        int topK,
        double topP,
        long seed,
        int maxTokens,
        List<String> stopStrings,
        List<Integer> stopTokenIds,
        boolean ignoreEos,
        double presencePenalty,
        double frequencyPenalty,
        double repetitionPenalty,
        double minP,
        Map<Integer, Float> logitBias,
        int logprobs) {
    /** The most alternatives a token's log-probabilities list (OpenAI's and vLLM's default limit). */
    public static final int MAX_LOGPROBS = 20;

    public SamplingParams {
        if (!(temperature >= 0) || temperature > 100) {
            throw new IllegalArgumentException("temperature must be between 0 and 100, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0 (0 = no limit), got " + topK);
        }
        if (!(topP > 0) || topP > 1) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens);
        }
        if (!(presencePenalty >= -2 && presencePenalty <= 2)) {
            throw new IllegalArgumentException("presence_penalty must be between -2 and 2, got " + presencePenalty);
        }
        if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) {
            throw new IllegalArgumentException("frequency_penalty must be between -2 and 2, got " + frequencyPenalty);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException(
                    "repetition_penalty must be a finite number above 0 (1 = none), got " + repetitionPenalty);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("min_p must be between 0 and 1, got " + minP);
        }
        if (logprobs < -1 || logprobs > MAX_LOGPROBS) {
            throw new IllegalArgumentException(
                    "logprobs must be -1 (none) or 0 to " + MAX_LOGPROBS + ", got " + logprobs);
        }
        stopStrings = List.copyOf(stopStrings);
        stopTokenIds = List.copyOf(stopTokenIds);
        for (String s : stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
        // sorted, so the sampler applies the biases in one fixed order
        logitBias = Map.copyOf(new TreeMap<>(logitBias));
        for (Map.Entry<Integer, Float> e : logitBias.entrySet()) {
            if (e.getKey() < 0) {
                throw new IllegalArgumentException("logit_bias token ids must be >= 0, got " + e.getKey());
            }
            float b = e.getValue();
            if (!(b >= -100 && b <= 100)) {
                throw new IllegalArgumentException(
                        "logit_bias of token " + e.getKey() + " must be between -100 and 100, got " + b);
            }
        }
    }

    /** Sampling with no penalties, biases, min-p or log-probabilities. */
    public SamplingParams(
            double temperature,
            int topK,
            double topP,
            long seed,
            int maxTokens,
            List<String> stopStrings,
            List<Integer> stopTokenIds,
            boolean ignoreEos) {
        this(temperature, topK, topP, seed, maxTokens, stopStrings, stopTokenIds, ignoreEos, 0, 0, 1, 0, Map.of(), -1);
    }

    public static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(0, 0, 1, 0, maxTokens, List.of(), List.of(), false);
    }

    public boolean isGreedy() {
        return temperature == 0 || topK == 1;
    }

    /** Whether the logits depend on the tokens seen so far (a presence, frequency or repetition penalty). */
    public boolean penalises() {
        return presencePenalty != 0 || frequencyPenalty != 0 || repetitionPenalty != 1;
    }

    /** The same sampling with another seed: choice {@code i} of a request with {@code n} choices. */
    public SamplingParams withSeed(long newSeed) {
        return new SamplingParams(
                temperature,
                topK,
                topP,
                newSeed,
                maxTokens,
                stopStrings,
                stopTokenIds,
                ignoreEos,
                presencePenalty,
                frequencyPenalty,
                repetitionPenalty,
                minP,
                logitBias,
                logprobs);
    }
}
