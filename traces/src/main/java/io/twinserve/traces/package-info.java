/**
 * The workload model shared by every part of twinserve: {@link io.twinserve.traces.Request}s, workload
 * specs and their generator, readers and writers of public trace formats, transformations and
 * statistics.
 */
package io.twinserve.traces;
