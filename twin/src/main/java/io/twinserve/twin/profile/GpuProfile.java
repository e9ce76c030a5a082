package io.twinserve.twin.profile;

/**
 * One GPU's datasheet figures.
 *
 * @param memoryGib capacity as CUDA reports it, GiB
 * @param hbmBandwidth memory bandwidth, bytes/s
 * @param bf16Flops dense bf16 tensor FLOP/s
 * @param fp8Flops dense fp8 tensor FLOP/s (0 when the GPU has none)
 * @param interconnectBandwidth GPU-to-GPU bandwidth per GPU, bytes/s (NVLink, or PCIe without it)
 * @param pcieBandwidth host-to-GPU bandwidth, bytes/s
 */
public record GpuProfile(
        String name,
        double memoryGib,
        double hbmBandwidth,
        double bf16Flops,
        double fp8Flops,
        double interconnectBandwidth,
        double pcieBandwidth,
        String source) {

    public GpuProfile {
        positive(name, "memory_gib", memoryGib);
        positive(name, "hbm_bandwidth", hbmBandwidth);
        positive(name, "bf16_flops", bf16Flops);
        positive(name, "interconnect_bandwidth", interconnectBandwidth);
        positive(name, "pcie_bandwidth", pcieBandwidth);
        if (!(fp8Flops >= 0)) {
            throw new IllegalArgumentException("gpu " + name + ": fp8_flops must be >= 0, got " + fp8Flops);
        }
    }

    public long memoryBytes() {
        return (long) (memoryGib * (1L << 30));
    }

    static void positive(String name, String key, double v) {
        if (!(v > 0) || !Double.isFinite(v)) {
            throw new IllegalArgumentException("gpu " + name + ": " + key + " must be > 0, got " + v);
        }
    }
}
