/** Model and adapter files in Hugging Face and PEFT layout: configuration, memory-mapped safetensors, and the random models tests write in the same formats. */
package io.twinserve.engine.model;
