package io.twinserve.twin.calibrate;

import io.twinserve.twin.perf.RooflinePerfModel;

/**
 * One measured timing figure and the step that explains it.
 *
 * @param family the measurement family it belongs to (the unit the leave-one-family-out check holds out)
 * @param key the input row's key fields
 * @param quantity what was measured: {@code mean_itl_ms} and {@code mean_ttft_ms} are step lengths,
 *     {@code input_tokens_per_s} the prompt tokens a step prefills over its length
 */
record TimingRow(String family, String file, String key, String quantity, double measured, StepScenario scenario) {

  double predict(RooflinePerfModel perf) {
    double ms = scenario.stepMs(perf);
    return quantity.equals("input_tokens_per_s") ? scenario.prefillTokensPerS(ms) : ms;
  }
}
