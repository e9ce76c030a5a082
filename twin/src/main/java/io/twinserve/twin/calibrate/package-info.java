/** Fitting the twin's memory and performance parameters to measurements ({@code twinserve calibrate}). */
package io.twinserve.twin.calibrate;
