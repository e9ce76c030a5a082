package io.twinserve.api.cli;

import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.traces.transform.TraceTransforms;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Trace transformation options shared by {@code trace stats} and {@code trace convert}. */
final class TransformOptions {
    @Option(
            names = "--window",
            paramLabel = "START:END",
            description = "Keep requests arriving in [START, END) seconds of the source (END may be empty)"
                    + " and shift them to start at 0.")
    String window;

    @Option(
            names = "--sample",
            paramLabel = "FRACTION",
            description = "Keep each request with this probability (seeded).")
    Double sample;

    @Option(
            names = "--time-scale",
            paramLabel = "K",
            description = "Multiply the arrival rate by K (arrival times are divided by K).")
    Double timeScale;

    @Option(names = "--max-prompt", paramLabel = "TOKENS", description = "Clip prompts to this many tokens.")
    Integer maxPrompt;

    @Option(names = "--max-output", paramLabel = "TOKENS", description = "Clip outputs to this many tokens.")
    Integer maxOutput;

    @Option(
            names = "--assign-adapters",
            paramLabel = "SPEC.yaml",
            description = "Assign adapters to requests as this workload spec does (its adapters section,"
                    + " or its per-adapter rate_tiers); turns of a session share one adapter.")
    Path assignAdapters;

    @Option(
            names = "--seed",
            paramLabel = "N",
            description = "Seed for --sample and --assign-adapters (default: the spec's seed, else 0).")
    Long seed;

    TraceTransforms toTransforms() throws IOException {
        Double start = null;
        Double end = null;
        if (window != null) {
            int colon = window.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException(
                        "--window: expected START:END in seconds (END may be empty), got '" + window + "'");
            }
            start = parseSeconds(window.substring(0, colon), "START");
            String e = window.substring(colon + 1).trim();
            end = e.isEmpty() ? null : parseSeconds(e, "END");
        }
        WorkloadSpec spec = assignAdapters == null ? null : WorkloadSpecs.load(assignAdapters);
        long s = seed != null ? seed : spec != null ? spec.seed() : 0L;
        return new TraceTransforms(start, end, sample, timeScale, maxPrompt, maxOutput, spec, s);
    }

    private double parseSeconds(String text, String which) {
        try {
            return text.isBlank() ? 0 : Double.parseDouble(text.trim());
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException(
                    "--window: " + which + " must be a number of seconds, got '" + text + "'");
        }
    }
}
