/**
 * One replica's serving stack, as every loop assembles it: the scheduler, the paged KV cache and the
 * adapter cache ({@link io.twinserve.twin.replica.ReplicaCore}), the indexing of adapter names
 * ({@link io.twinserve.twin.replica.AdapterIndex}) and the prefix-cache block keys
 * ({@link io.twinserve.twin.replica.PrefixKeys}). The simulator and the live engine both build replicas
 * here, so that admission, adapter checks and prefix reuse follow one rule.
 */
package io.twinserve.twin.replica;
