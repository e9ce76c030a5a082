/**
 * The engine's tokenizer: byte-level and byte-fallback BPE read from Hugging Face {@code tokenizer.json}
 * files, and a writer of small tokenizers for random test models (chat templates live in
 * {@code engine.chat}).
 */
package io.twinserve.engine.tokenizer;
