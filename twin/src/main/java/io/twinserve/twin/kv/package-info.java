/** The paged KV cache: blocks, prefix reuse by chained block hashes, LRU eviction of unreferenced blocks. */
package io.twinserve.twin.kv;
