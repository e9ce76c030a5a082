package io.twinserve.twin.cluster;

import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.perf.InterconnectSpec;

/**
 * A compute pool: identical GPU servers. A replica's {@code tp} GPUs sit in one node of one pool.
 *
 * @param gpu a GPU profile name (see {@code twinserve profiles} or docs/cluster-spec.md)
 * @param gpusPerNode GPUs in each node (default 8)
 * @param nodes nodes in the pool (default 1)
 * @param costPerGpuHour price of one GPU for one hour, in the currency of your choice (default 0)
 * @param interconnect how a node's GPUs all-reduce (default: analytic from the GPU profile); a profiled
 *     table's path is relative to the spec's folder
 */
public record PoolSpec(
        String name,
        String gpu,
        Integer gpusPerNode,
        Integer nodes,
        Double costPerGpuHour,
        InterconnectSpec interconnect) {

    public PoolSpec(String name, String gpu, Integer gpusPerNode, Integer nodes, Double costPerGpuHour) {
        this(name, gpu, gpusPerNode, nodes, costPerGpuHour, null);
    }

    public PoolSpec {
        if (name == null || name.isBlank()) {
            throw new SpecException("name", "is required: a name the deployments' pools list refers to");
        }
        if (gpu == null || gpu.isBlank()) {
            throw new SpecException("gpu", "is required: a GPU profile name (e.g. h100-sxm-80gb)");
        }
        gpusPerNode = gpusPerNode == null ? 8 : gpusPerNode;
        if (gpusPerNode < 1) {
            throw new SpecException("gpus_per_node", "must be >= 1, got " + gpusPerNode);
        }
        nodes = nodes == null ? 1 : nodes;
        if (nodes < 1) {
            throw new SpecException("nodes", "must be >= 1, got " + nodes);
        }
        costPerGpuHour = costPerGpuHour == null ? 0.0 : costPerGpuHour;
        if (!(costPerGpuHour >= 0) || !Double.isFinite(costPerGpuHour)) {
            throw new SpecException("cost_per_gpu_hour", "must be a finite number >= 0, got " + costPerGpuHour);
        }
    }

    public int gpus() {
        return gpusPerNode * nodes;
    }
}
