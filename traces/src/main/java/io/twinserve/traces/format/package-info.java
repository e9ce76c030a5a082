/**
 * Trace file formats: streaming readers with format detection, and writers. Azure, Mooncake, BurstGPT
 * and twinserve's own lossless CSV and JSON Lines.
 */
package io.twinserve.traces.format;
