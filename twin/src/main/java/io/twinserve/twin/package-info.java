/**
 * The digital twin of an LLM serving cluster: scheduler, paged KV cache, adapter cache, router,
 * autoscaler, event loop and performance models. It consumes workloads from
 * {@code io.twinserve.traces}. The simulator itself lands with the twin core issue (#3).
 */
package io.twinserve.twin;
