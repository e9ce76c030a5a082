package io.twinserve.traces.spec;

/**
 * Multi-turn conversations. Sessions start at the arrival process's times; each has a number of turns
 * drawn from {@code turns}; turn k+1 arrives {@code think_time_s} after turn k arrived. Every turn's
 * prompt holds all earlier turns and their answers, so consecutive turns share a growing prefix,
 * expressed as prefix block hashes of {@code block_size} tokens. A session ends early when its context
 * would pass the prompt or total caps.
 *
 * @param shareAdapter whether all turns of a session use the same adapter (default true)
 */
public record SessionsSpec(
        DistributionSpec turns, DistributionSpec thinkTimeS, Integer blockSize, Boolean shareAdapter) {

    public static final int DEFAULT_BLOCK_SIZE = 16;

    public SessionsSpec {
        Check.required("turns", turns);
        Check.required("think_time_s", thinkTimeS);
        blockSize = blockSize == null ? DEFAULT_BLOCK_SIZE : blockSize;
        Check.atLeast("block_size", blockSize, 1);
        shareAdapter = shareAdapter == null ? Boolean.TRUE : shareAdapter;
        if (turns instanceof DistributionSpec.Empirical) {
            throw new SpecException(
                    "turns.type",
                    "empirical is not supported for turns; use fixed, uniform," + " normal, lognormal or exponential");
        }
    }
}
