/**
 * {@code twinserve engine profile}: measures a backend's real step times over a grid of batch shapes and
 * writes a profile (a Vidur-format table, a hardware and a model profile, and a calibration) that the
 * twin's {@code profiled} performance model reads. The format is documented in docs/engine-profile.md.
 */
package io.twinserve.engine.profile;
