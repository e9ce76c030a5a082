package io.twinserve.engine.sample;

/**
 * The log-probabilities of one sampled token (see {@link Sampler} for which distribution): its own, and
 * the most likely tokens' with theirs, most likely first.
 */
public record TokenLogprobs(float logprob, int[] topIds, float[] topLogprobs) {
    public TokenLogprobs {
        if (topIds.length != topLogprobs.length) {
            throw new IllegalArgumentException(
                    "top ids and log-probabilities differ in length: " + topIds.length + " and " + topLogprobs.length);
        }
    }

    /** What {@code sampler} left of its last sample. */
    public static TokenLogprobs of(Sampler sampler) {
        int n = sampler.topCount();
        int[] ids = new int[n];
        float[] logprobs = new float[n];
        for (int i = 0; i < n; i++) {
            ids[i] = sampler.topId(i);
            logprobs[i] = sampler.topLogprob(i);
        }
        return new TokenLogprobs(sampler.sampledLogprob(), ids, logprobs);
    }
}
