/**
 * Performance models: how long a scheduler step and an adapter load take (roofline and profiled), and
 * how long the tensor-parallel all-reduces take (analytic and profiled).
 */
package io.twinserve.twin.perf;
