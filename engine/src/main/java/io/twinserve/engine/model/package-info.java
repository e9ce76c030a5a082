/**
 * Model and adapter files in Hugging Face and PEFT layout, read: configuration and memory-mapped
 * safetensors (the writers of the random models tests use are in {@code model.write}).
 */
package io.twinserve.engine.model;
