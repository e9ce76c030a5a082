/**
 * Reproducible studies, their runner and reports, and the regression suite of simulated traces. Lands
 * with the twin core issue (#3).
 */
package io.twinserve.experiments;
