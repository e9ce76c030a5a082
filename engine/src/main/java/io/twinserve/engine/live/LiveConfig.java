package io.twinserve.engine.live;

/**
 * The live loop's scheduling limits (the KV cache size, block size and adapter slots come from the
 * backend, so the scheduler's bookkeeping matches the memory that really exists).
 */
public record LiveConfig(int maxNumSeqs, int maxNumBatchedTokens, boolean chunkedPrefill, boolean prefixCaching,
    int maxCpuAdapters, int maxModelLen) {
  public LiveConfig {
    if (maxNumSeqs < 1 || maxNumBatchedTokens < 1 || maxCpuAdapters < 0 || maxModelLen < 2) {
      throw new IllegalArgumentException("live config needs max_num_seqs >= 1 (" + maxNumSeqs
          + "), max_num_batched_tokens >= 1 (" + maxNumBatchedTokens + "), max_cpu_adapters >= 0 ("
          + maxCpuAdapters + ") and max_model_len >= 2 (" + maxModelLen + ")");
    }
  }

  /** vLLM-like defaults sized for the CPU backend. */
  public static LiveConfig defaults(int maxModelLen) {
    return new LiveConfig(32, 512, true, true, 16, maxModelLen);
  }
}
