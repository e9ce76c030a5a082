package io.twinserve.traces.spec;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Prompt and output token counts, with caps. With sessions, {@code prompt} is the new user message of
 * each turn; the turn's whole prompt also holds the earlier turns.
 *
 * @param caps {@code clip} a draw into [min, max] (default), or {@code resample} until it fits, as
 *     serving benchmarks filter ShareGPT
 */
public record LengthsSpec(
        DistributionSpec prompt,
        DistributionSpec output,
        Integer minPrompt,
        Integer maxPrompt,
        Integer minOutput,
        Integer maxOutput,
        Integer maxTotal,
        CapMode caps) {

    /** What to do with a draw outside the caps. */
    public enum CapMode {
        @JsonProperty("clip")
        CLIP,
        @JsonProperty("resample")
        RESAMPLE
    }

    public LengthsSpec {
        Check.required("prompt", prompt);
        Check.required("output", output);
        minPrompt = minPrompt == null ? 1 : minPrompt;
        minOutput = minOutput == null ? 1 : minOutput;
        Check.atLeast("min_prompt", minPrompt, 1);
        Check.atLeast("min_output", minOutput, 1);
        maxPrompt = maxPrompt == null ? Integer.MAX_VALUE / 4 : maxPrompt;
        maxOutput = maxOutput == null ? Integer.MAX_VALUE / 4 : maxOutput;
        Check.atLeast("max_prompt", maxPrompt, minPrompt);
        Check.atLeast("max_output", maxOutput, minOutput);
        if (maxTotal != null) {
            Check.atLeast("max_total", maxTotal, minPrompt + minOutput);
        } else {
            maxTotal = Integer.MAX_VALUE / 2;
        }
        if (caps == null) {
            caps = CapMode.CLIP;
        }
    }
}
