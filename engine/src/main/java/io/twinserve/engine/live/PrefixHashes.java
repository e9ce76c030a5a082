package io.twinserve.engine.live;

/**
 * Chained hashes of a prompt's full KV blocks, so the KV manager's prefix cache can reuse blocks of an
 * earlier request with the same leading tokens and the same adapter.
 */
final class PrefixHashes {
  private PrefixHashes() {}

  static long[] of(int[] tokens, int blockSize, int adapter) {
    int full = tokens.length / blockSize;
    long[] out = new long[full];
    long h = mix(0x243F6A8885A308D3L ^ (adapter + 2L));
    for (int b = 0; b < full; b++) {
      for (int i = 0; i < blockSize; i++) {
        h = mix(h * 0x100000001B3L ^ (tokens[b * blockSize + i] + 1L));
      }
      out[b] = h;
    }
    return out;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
