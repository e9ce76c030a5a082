/**
 * The digital twin of an LLM serving replica: profiles, memory model, performance models, the
 * scheduler with its KV block manager and adapter cache, the event loop and metrics. It consumes
 * workloads from {@code io.twinserve.traces}.
 */
package io.twinserve.twin;
