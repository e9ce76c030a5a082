/**
 * Writers of model files in Hugging Face layout: random models and PEFT adapters for tests and
 * benchmarks, and the safetensors writer under them (the readers stay in {@code engine.model}).
 */
package io.twinserve.engine.model.write;
