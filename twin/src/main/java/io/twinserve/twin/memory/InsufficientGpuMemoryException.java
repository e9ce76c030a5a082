package io.twinserve.twin.memory;

import java.util.Locale;

/** A replica whose configuration does not fit its GPUs: states each memory term and the shortfall. */
public final class InsufficientGpuMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final long shortfallBytes;

    public InsufficientGpuMemoryException(String what, MemoryBreakdown m, long shortfallBytes) {
        super(String.format(
                Locale.ROOT,
                "insufficient GPU memory: %s; short by %.2f GiB per GPU (budget %.2f GiB = memory x"
                        + " gpu_memory_utilization; weights %.2f GiB, adapter slots %.2f GiB, activations %.2f GiB,"
                        + " KV cache %.2f GiB for %,d tokens)",
                what,
                MemoryBreakdown.gib(shortfallBytes),
                MemoryBreakdown.gib(m.budgetBytes()),
                MemoryBreakdown.gib(m.weightBytes()),
                MemoryBreakdown.gib(m.adapterSlotBytes()),
                MemoryBreakdown.gib(m.activationBytes()),
                MemoryBreakdown.gib(m.kvCacheBytes()),
                m.kvCacheTokens()));
        this.shortfallBytes = shortfallBytes;
    }

    public long shortfallBytes() {
        return shortfallBytes;
    }

    public double shortfallGib() {
        return MemoryBreakdown.gib(shortfallBytes);
    }
}
