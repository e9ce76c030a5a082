/** Streaming transformations of traces: time scaling, windows, length caps, sampling, adapter assignment. */
package io.twinserve.traces.transform;
