/**
 * {@code twinserve bench engine}: the CPU backend's decode speed against this machine's memory bandwidth,
 * measured in the same run, on a random model written once and cached.
 */
package io.twinserve.engine.bench;
