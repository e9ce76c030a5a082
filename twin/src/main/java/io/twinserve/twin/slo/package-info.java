/** Runs judged against a latency and service objective ({@link io.twinserve.traces.spec.SloSpec}). */
package io.twinserve.twin.slo;
