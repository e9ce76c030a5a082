package io.twinserve.twin.sim;

import io.twinserve.traces.Request;

/**
 * Turns a request's prefix hashes (over blocks of the trace's size, such as Mooncake's 512 tokens or a
 * session's 16) into chained hashes of the replica's KV blocks.
 *
 * <p>KV block j covers tokens [jB, (j+1)B) of the prompt; it is cacheable when it is full of prompt
 * tokens and every trace block it overlaps has a hash. Its hash chains the previous KV block's hash, the
 * overlapped trace hashes and its offset in the first of them, so that equal hashes mean equal prefixes.
 */
public final class PrefixBlocks {
  private static final long[] NONE = new long[0];

  private PrefixBlocks() {}

  public static long[] of(Request r, int blockSize) {
    long[] trace = r.prefixHashes();
    if (trace.length == 0) {
      return NONE;
    }
    int traceBlock = r.prefixBlockSize();
    long coveredTokens = Math.min((long) trace.length * traceBlock, r.promptTokens());
    int blocks = (int) (coveredTokens / blockSize);
    long[] out = new long[blocks];
    long h = 0x243f6a8885a308d3L;
    for (int j = 0; j < blocks; j++) {
      long start = (long) j * blockSize;
      long end = start + blockSize - 1;
      int t0 = (int) (start / traceBlock);
      int t1 = (int) (end / traceBlock);
      for (int t = t0; t <= t1; t++) {
        h = mix(h ^ trace[t]);
      }
      h = mix(h + (start - (long) t0 * traceBlock) + 1);
      out[j] = h;
    }
    return out;
  }

  /** SplitMix64's finaliser (Steele, Lea and Flood, OOPSLA 2014). */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
