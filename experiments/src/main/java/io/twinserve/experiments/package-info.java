/** Reproducible studies, their reports, and the regression suite of simulated traces. */
package io.twinserve.experiments;
