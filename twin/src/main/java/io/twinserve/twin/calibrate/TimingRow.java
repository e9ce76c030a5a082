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
record TimingRow(
        String family,
        String file,
        String key,
        String quantity,
        double measured,
        StepScenario scenario,
        Burst burst,
        ClientTime client) {

    /**
     * A burst of {@code requests} equal prompts sent at once and prefilled in steps of at most {@code budget}
     * tokens, one output token each: its mean TTFT is the mean end of the step that completes each prompt.
     */
    record Burst(double requests, int budget) {}

    /**
     * The benchmark client's time around a burst ({@link BurstClient}): a TTFT holds {@code beforeS}, and a rate
     * over the run's duration holds both, over {@code tokens} tokens.
     */
    record ClientTime(double tokens, double beforeS, double afterS) {
        /** A one-token burst's ({@code tokens}: its prompt tokens, the rate's numerator). */
        static ClientTime of(BurstClient client, double requests, double tokens) {
            return new ClientTime(tokens, client.beforeS(requests), client.afterS(requests, 1));
        }
    }

    /** A figure one step explains, measured without a burst's client time around it. */
    TimingRow(String family, String file, String key, String quantity, double measured, StepScenario scenario) {
        this(family, file, key, quantity, measured, scenario, null, null);
    }

    double predict(RooflinePerfModel perf) {
        double ms = burst != null ? burstMeanTtftMs(perf) : scenario.stepMs(perf);
        if (quantity.equals("input_tokens_per_s")) {
            double rate = scenario.prefillTokensPerS(ms);
            if (client == null || client.tokens() <= 0) {
                return rate;
            }
            // the run's tokens over the engine's time for them plus the client's before and after
            return client.tokens() / (client.tokens() / rate + client.beforeS() + client.afterS());
        }
        // a first token reaches the client the request's latency outside the engine after its step (and, in a
        // burst, after the client has handed the engine every request)
        return quantity.equals("mean_ttft_ms")
                ? ms + perf.requestLatencyNs() / 1e6 + (client == null ? 0 : client.beforeS() * 1e3)
                : ms;
    }

    /** Prices the burst's steps in turn (the last one partial) and averages each prompt's completing step's end. */
    private double burstMeanTtftMs(RooflinePerfModel perf) {
        long p = Math.max(1, Math.round(scenario.promptTokens()));
        long n = Math.round(burst.requests());
        long total = n * p;
        double end = 0;
        double sum = 0;
        long done = 0;
        for (long start = 0; start < total; start += burst.budget()) {
            long tokens = Math.min(burst.budget(), total - start);
            end += new StepScenario(
                            0,
                            0,
                            tokens,
                            p,
                            0,
                            0,
                            scenario.slots(),
                            scenario.distinctAdapters(),
                            scenario.rank(),
                            scenario.extraMs())
                    .withLoaded(scenario.loadedAdapters())
                    .stepMs(perf);
            long completed = (start + tokens) / p - done;
            sum += completed * end;
            done += completed;
        }
        return sum / n;
    }
}
