/**
 * Fitting the twin's memory and performance parameters to measurements ({@code twinserve calibrate}), one
 * class per fit, and the one least-squares solver that the engine's profile fit shares.
 */
package io.twinserve.twin.calibrate;
