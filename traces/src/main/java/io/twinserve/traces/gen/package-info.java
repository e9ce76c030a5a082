/**
 * The synthetic workload generator: arrival processes, adapter popularity, length distributions and
 * multi-turn sessions with prefix block hashes, deterministic for a seed.
 */
package io.twinserve.traces.gen;
