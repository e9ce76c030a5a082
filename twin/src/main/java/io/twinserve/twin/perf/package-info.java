/**
 * Performance models: how long a scheduler step and an adapter load take (roofline, profiled and
 * speculative), and how long the tensor-parallel all-reduces take (analytic and profiled).
 */
package io.twinserve.twin.perf;
