package io.twinserve.twin.perf;

/**
 * Prices the steps of a decode stretch: consecutive steps that repeat one shape, except that each of its
 * decodes attends to one more token per step ({@link StepShape#decodeContextTokens} and
 * {@link StepShape#kvReadTokens} grow by {@link StepShape#decodeSequences} each step).
 */
public interface DecodeStretch {

  /** Duration of step {@code i} of the stretch (0 is the first shape), in ns: exactly the model's stepNs. */
  long stepNs(long i);

  /**
   * Σ of the first {@code k} steps' durations, in ns. Closed-form overrides may sum the durations before
   * their truncation to whole ns, and so exceed the sum of {@link #stepNs} by less than 1 ns per step.
   */
  default double sumNs(long k) {
    long sum = 0;
    for (long i = 0; i < k; i++) {
      sum += stepNs(i);
    }
    return sum;
  }

  /**
   * How many of the first {@code k} steps end at or before {@code budgetNs} from the stretch's start, by
   * bisection over {@link #sumNs} (O(log k) with a closed form); the durations are positive.
   */
  default long stepsWithin(long k, double budgetNs) {
    long lo = 0;
    long hi = k;
    while (lo < hi) {
      long mid = lo + (hi - lo + 1) / 2;
      if (sumNs(mid) <= budgetNs) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }
}
