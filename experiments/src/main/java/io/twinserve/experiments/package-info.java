/** Reproducible studies, their reports, the regression suite of simulated traces, and what-if orchestration. */
package io.twinserve.experiments;
