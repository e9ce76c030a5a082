/**
 * The real inference engine (model files, tokenizer, CPU and CUDA backends, live loop on the twin's
 * scheduler). Lands with the engine issues (#6 and later).
 */
package io.twinserve.engine;
