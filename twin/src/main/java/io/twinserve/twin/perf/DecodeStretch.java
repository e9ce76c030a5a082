package io.twinserve.twin.perf;

/**
 * Prices the steps of a decode stretch: consecutive steps that repeat one shape, except that each of its
 * decodes attends to one more token per step ({@link StepShape#decodeContextTokens} and
 * {@link StepShape#kvReadTokens} grow by {@link StepShape#decodeSequences} each step).
 */
@FunctionalInterface
public interface DecodeStretch {

    /** Duration of step {@code i} of the stretch (0 is the first shape), in ns: exactly the model's stepNs. */
    long stepNs(long i);
}
