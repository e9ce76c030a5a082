/**
 * The CPU backend: the Llama-family forward pass with the Vector API, its paged KV cache, batched
 * multi-adapter LoRA slots and tensor-parallel shards.
 */
package io.twinserve.engine.backend.cpu;
