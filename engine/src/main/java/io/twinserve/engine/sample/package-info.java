/** Turning logits into tokens: greedy and seeded sampling with temperature, top-p and top-k. */
package io.twinserve.engine.sample;
