package io.twinserve.twin.calibrate;

import io.twinserve.twin.perf.RooflinePerfModel;

/**
 * One measured timing figure and the step that explains it.
 *
 * @param family the measurement family it belongs to (the unit the leave-one-family-out check holds out)
 * @param key the input row's key fields
 * @param quantity what was measured: {@code mean_itl_ms} is a step length, {@code mean_ttft_ms} a step
 *     length plus the request's latency outside the engine, {@code input_tokens_per_s} the prompt tokens a
 *     step prefills over its length
 */
record TimingRow(String family, String file, String key, String quantity, double measured, StepScenario scenario) {

  double predict(RooflinePerfModel perf) {
    double ms = scenario.stepMs(perf);
    if (quantity.equals("input_tokens_per_s")) {
      return scenario.prefillTokensPerS(ms);
    }
    // a first token reaches the client the request's latency outside the engine after its step
    return quantity.equals("mean_ttft_ms") ? ms + perf.requestLatencyNs() / 1e6 : ms;
  }
}
