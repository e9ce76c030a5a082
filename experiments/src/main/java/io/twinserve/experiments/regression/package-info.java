/**
 * The regression suite: simulated scenarios under experiments/regression/ with golden results that CI
 * compares exactly; goldens change only through {@code twinserve regress --update}.
 */
package io.twinserve.experiments.regression;
