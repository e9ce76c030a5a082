/** The GPU memory model: weights, adapter slot buffers, KV cache and activation reserve, and the start-up check. */
package io.twinserve.twin.memory;
