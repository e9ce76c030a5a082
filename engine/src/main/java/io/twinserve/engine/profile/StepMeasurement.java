package io.twinserve.engine.profile;

import java.util.Locale;

/**
 * One measured batch shape: {@code sequences} sequences each computing {@code tokensPerSequence} tokens
 * after {@code contextTokens} cached ones, with {@code adapters} distinct adapters of {@code rank}, and
 * logits for each sequence's last token or none. Times are over the repetitions after warm-up.
 */
public record StepMeasurement(
        Kind kind,
        int sequences,
        int tokensPerSequence,
        int contextTokens,
        int adapters,
        int rank,
        boolean logits,
        long medianNs,
        long minNs,
        long maxNs,
        int repetitions) {

    /** What a measurement is for; each kind isolates one term of the step time. */
    public enum Kind {
        /** One-token sequences at context 0, no logits: the linear layers (the table). */
        TABLE,
        /** As {@link #TABLE} with logits: the table plus the LM head. */
        HEAD,
        /** One-token sequences after a context, no logits: the table plus decode attention. */
        DECODE,
        /** One prefill chunk after a context, no logits: the table plus prefill attention. */
        PREFILL,
        /** One-token sequences at context 0 with adapters, no logits: the table plus LoRA. */
        LORA;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public StepMeasurement {
        if (sequences < 1 || tokensPerSequence < 1 || contextTokens < 0 || adapters < 0 || rank < 0) {
            throw new IllegalArgumentException("invalid step shape: " + sequences + " sequences x " + tokensPerSequence
                    + " tokens after " + contextTokens + ", " + adapters + " adapters of rank " + rank);
        }
        if (!(minNs <= medianNs && medianNs <= maxNs) || minNs <= 0) {
            throw new IllegalArgumentException(
                    "times must satisfy 0 < min <= median <= max, got " + minNs + ", " + medianNs + ", " + maxNs);
        }
    }

    public int tokens() {
        return sequences * tokensPerSequence;
    }
}
