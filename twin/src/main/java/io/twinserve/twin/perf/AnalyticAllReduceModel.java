package io.twinserve.twin.perf;

import io.twinserve.twin.profile.GpuProfile;

/**
 * An all-reduce priced as a fixed latency plus a ring all-reduce's traffic: each GPU sends and receives
 * 2(n-1)/n of the buffer (Patarasuk and Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
 * workstations", JPDC 2009), at the interconnect's bandwidth per GPU.
 *
 * @param latencyNs the cost of an all-reduce of no bytes (launch and synchronisation)
 * @param bandwidthBytesPerSecond the interconnect's bandwidth per GPU
 */
public record AnalyticAllReduceModel(double latencyNs, double bandwidthBytesPerSecond) implements AllReduceModel {
    /**
     * NCCL's small all-reduces on NVLink take microseconds: Vidur's H100 profiles
     * (data/profiles/vidur/network/h100_dgx/all_reduce.csv) measure 7 to 38 µs for 4 KiB buffers.
     */
    public static final double DEFAULT_LATENCY_NS = 8_000;

    public AnalyticAllReduceModel {
        if (!(latencyNs >= 0) || !Double.isFinite(latencyNs)) {
            throw new IllegalArgumentException("all-reduce latency_ns must be finite and >= 0, got " + latencyNs);
        }
        if (!(bandwidthBytesPerSecond > 0) || !Double.isFinite(bandwidthBytesPerSecond)) {
            throw new IllegalArgumentException(
                    "all-reduce bandwidth must be finite and > 0 bytes/s, got " + bandwidthBytesPerSecond);
        }
    }

    /** The default latency and the GPU profile's interconnect bandwidth. */
    public static AnalyticAllReduceModel forGpu(GpuProfile gpu) {
        return new AnalyticAllReduceModel(DEFAULT_LATENCY_NS, gpu.interconnectBandwidth());
    }

    /** This model with the latency and the bandwidth replaced where given (null keeps this model's). */
    public AnalyticAllReduceModel with(Double latencyUs, Double bandwidthGbPerSecond) {
        return new AnalyticAllReduceModel(
                latencyUs == null ? latencyNs : latencyUs * 1e3,
                bandwidthGbPerSecond == null ? bandwidthBytesPerSecond : bandwidthGbPerSecond * 1e9);
    }

    @Override
    public double allReduceNs(long bytes, int gpus) {
        if (gpus <= 1) {
            return 0;
        }
        return latencyNs + 2.0 * (gpus - 1) / gpus * bytes / bandwidthBytesPerSecond * 1e9;
    }
}
