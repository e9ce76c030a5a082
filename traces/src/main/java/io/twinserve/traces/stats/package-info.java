/** Trace statistics computed in one streaming pass with bounded memory: rates, burstiness, lengths, adapters, sessions, prefix reuse. */
package io.twinserve.traces.stats;
