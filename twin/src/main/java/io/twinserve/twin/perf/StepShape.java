package io.twinserve.twin.perf;

/**
 * What a performance model needs to know about one scheduler step, aggregated over its sequences so that
 * pricing a step costs the same whatever the batch size. Mutable and reused by its owner (the
 * scheduler); {@link #clear()} before each step.
 */
public final class StepShape {
  /** Sequences in the batch. */
  public int sequences;
  /** Tokens computed this step: prefill chunk tokens plus one per decode. */
  public int newTokens;
  /** Sequences decoding one token. */
  public int decodeSequences;
  /** Σ over decodes of the context length attended (earlier tokens + the new one). */
  public long decodeContextTokens;
  /** Σ over prefill chunks of query-key pairs: n·c + n(n+1)/2 for a chunk of n tokens after c cached. */
  public long prefillAttentionPairs;
  /** Σ over all sequences of the tokens whose K/V are read this step (cached + new). */
  public long kvReadTokens;
  /** Sequences that sample a token this step (decodes and final prefill chunks). */
  public int sampledTokens;
  /** Sequences that start their first prefill chunk this step. */
  public int newRequests;
  /** Distinct adapters in the batch. */
  public int distinctAdapters;
  /** Σ of the ranks of the distinct adapters. */
  public long adapterRankSum;
  /** Tokens of sequences that use an adapter. */
  public int adapterTokens;

  public void clear() {
    sequences = 0;
    newTokens = 0;
    decodeSequences = 0;
    decodeContextTokens = 0;
    prefillAttentionPairs = 0;
    kvReadTokens = 0;
    sampledTokens = 0;
    newRequests = 0;
    distinctAdapters = 0;
    adapterRankSum = 0;
    adapterTokens = 0;
  }

  /** Adds a sequence computing {@code n} tokens after {@code cached} tokens already in its KV cache. */
  public void addSequence(int n, long cached, boolean decode, boolean samples, boolean starts, boolean adapter) {
    sequences++;
    newTokens += n;
    kvReadTokens += cached + n;
    if (decode) {
      decodeSequences++;
      decodeContextTokens += cached + 1;
    } else {
      prefillAttentionPairs += (long) n * cached + (long) n * (n + 1) / 2;
    }
    if (samples) {
      sampledTokens++;
    }
    if (starts) {
      newRequests++;
    }
    if (adapter) {
      adapterTokens += n;
    }
  }

  /** A decode-only batch of {@code b} sequences, each with {@code context} tokens before this step. */
  public static StepShape decodeBatch(int b, long context) {
    StepShape s = new StepShape();
    for (int i = 0; i < b; i++) {
      s.addSequence(1, context, true, true, false, false);
    }
    return s;
  }
}
