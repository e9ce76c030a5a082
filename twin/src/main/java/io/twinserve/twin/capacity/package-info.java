/**
 * Capacity search: which deployments (pool, GPU, tp, replicas, adapter slots, KV cache, router) meet an
 * SLO for a workload at the lowest cost, and the highest request rate each sustains.
 */
package io.twinserve.twin.capacity;
