/** Run metrics: per-request records, latency distributions, throughput against offered load, starvation. */
package io.twinserve.twin.metrics;
