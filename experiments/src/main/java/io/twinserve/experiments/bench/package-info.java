/** Speed benchmarks of the twin, measured against baselines of the same run. */
package io.twinserve.experiments.bench;
