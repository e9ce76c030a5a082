package io.twinserve.experiments.validate;

import io.twinserve.traces.Request;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A small built-in workload for a twin-against-live run: Poisson arrivals, prompt and output lengths
 * uniform within half their mean either side, each request on an adapter drawn uniformly (the base model
 * when there are none).
 *
 * @param ratePerSecond mean arrivals per second
 */
public record SyntheticWorkload(int requests, double ratePerSecond, int promptTokens, int outputTokens) {
    public SyntheticWorkload {
        if (requests < 1) {
            throw new IllegalArgumentException("--requests must be >= 1, got " + requests);
        }
        if (!(ratePerSecond > 0) || Double.isInfinite(ratePerSecond)) {
            throw new IllegalArgumentException(
                    "--rate must be a positive number of requests per second, got " + ratePerSecond);
        }
        if (promptTokens < 1 || outputTokens < 1) {
            throw new IllegalArgumentException(
                    "--prompt-tokens and --output-tokens must be >= 1, got " + promptTokens + " and " + outputTokens);
        }
    }

    /**
     * The requests, ids 0 to n-1: the same for the same seed and adapters, and with the same arrivals and
     * lengths whatever the adapters (so a run on the base model is the same work without LoRA).
     */
    public List<Request> generate(List<String> adapters, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Request> out = new ArrayList<>(requests);
        double t = 0;
        for (int i = 0; i < requests; i++) {
            // exponential gaps: a Poisson process of the given rate
            t += -Math.log(1 - random.nextDouble()) / ratePerSecond;
            // drawn even without adapters, so that a seed gives the same arrivals and lengths either way
            int pick = random.nextInt(Math.max(1, adapters.size()));
            String adapter = adapters.isEmpty() ? null : adapters.get(pick);
            out.add(Request.of(
                    i, (long) (t * 1e9), adapter, length(random, promptTokens), length(random, outputTokens)));
        }
        return out;
    }

    private static int length(SplittableRandom random, int mean) {
        int low = Math.max(1, mean - mean / 2);
        int high = mean + mean / 2;
        return low + random.nextInt(high - low + 1);
    }
}
