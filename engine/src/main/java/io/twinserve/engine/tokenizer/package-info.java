/**
 * The engine's tokenizer: byte-level and byte-fallback BPE read from Hugging Face {@code tokenizer.json}
 * files, chat templates rendered with Jinjava, and a writer of small tokenizers for random test models.
 */
package io.twinserve.engine.tokenizer;
