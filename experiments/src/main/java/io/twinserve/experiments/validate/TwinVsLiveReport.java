package io.twinserve.experiments.validate;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.twinserve.experiments.report.ReportJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a twin-against-live run found: the settings both sides ran with, the workload, each side's figures,
 * the predicted against the measured figures with their relative errors, and the twin's step model priced
 * on the live loop's own steps. Written as markdown for people and JSON for machines.
 *
 * @param model the model profile's name
 * @param hardware the profile's hardware name (this CPU and its threads)
 * @param twin the twin's figures (predicted)
 * @param live the live loop's figures (measured)
 * @param comparison the compared figures, predicted against measured
 * @param liveStepsCsv every live step's shape, measured time and the twin's price ({@link #STEPS}); not in
 *     the JSON
 */
public record TwinVsLiveReport(
        String model,
        String modelDir,
        String profileDir,
        String deployment,
        String hardware,
        String calibration,
        ServingSettings settings,
        Workload workload,
        SideFigures twin,
        SideFigures live,
        List<Metric> comparison,
        StepModelCheck stepModel,
        List<String> notes,
        Map<String, Object> provenance,
        @JsonIgnore String liveStepsCsv) {

    public static final String MARKDOWN = "twin-vs-live.md";
    public static final String JSON = "twin-vs-live.json";
    public static final String STEPS = "live-steps.csv";

    public TwinVsLiveReport {
        comparison = List.copyOf(comparison);
        notes = List.copyOf(notes);
    }

    /**
     * The workload both sides served.
     *
     * @param source the trace or spec file, or the built-in workload's parameters
     * @param arrivalSpanS the last arrival's time
     * @param warmupRequests requests run through a throw-away live loop before the measured replay (JIT)
     */
    public record Workload(
            String source,
            int requests,
            long promptTokens,
            long outputTokens,
            double arrivalSpanS,
            List<AdapterUse> adapters,
            int warmupRequests) {
        public Workload {
            adapters = List.copyOf(adapters);
        }
    }

    /** One adapter of the run: its folder, its rank and how many requests used it. */
    public record AdapterUse(String name, String dir, int rank, int requests) {}

    /**
     * One figure, predicted by the twin and measured on the live loop.
     *
     * @param relativeError |predicted - measured| / measured
     * @param signedRelativeError (predicted - measured) / measured: negative when the twin is optimistic about
     *     a time, or pessimistic about a throughput
     */
    public record Metric(
            String name,
            String unit,
            double predicted,
            double measured,
            double relativeError,
            double signedRelativeError) {
        public static Metric of(String name, String unit, double predicted, double measured) {
            double signed = (predicted - measured) / measured;
            return new Metric(name, unit, predicted, measured, Math.abs(signed), signed);
        }
    }

    /**
     * The twin's performance model on the live loop's own steps: each step's shape priced as the twin prices
     * it, against the step's measured time less its adapter loads. It separates the step model's error from
     * everything else (scheduling, idle time, the loop's own overhead, adapter loads).
     *
     * @param measuredS Σ of the live steps' times less their adapter loads (forward pass and sampling)
     * @param predictedS Σ of the twin's price of the same shapes
     * @param adapterLoadS Σ of the live steps' adapter loads
     * @param groups the same split by kind of step: decode only, or with a prefill chunk
     */
    public record StepModelCheck(
            long steps,
            double measuredS,
            double predictedS,
            double relativeError,
            double signedRelativeError,
            double adapterLoadS,
            List<StepGroup> groups) {
        public StepModelCheck {
            groups = List.copyOf(groups);
        }
    }

    /** One kind of step in the step-model check; the error is NaN (null in JSON) when it has no steps. */
    public record StepGroup(String kind, long steps, double measuredS, double predictedS, double signedRelativeError) {}

    /** Writes {@link #MARKDOWN}, {@link #JSON} and {@link #STEPS} into {@code dir} (created if needed). */
    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(STEPS), liveStepsCsv);
        Files.writeString(dir.resolve(JSON), ReportJson.write(this) + "\n");
        Files.writeString(dir.resolve(MARKDOWN), ReportMarkdown.render(this));
    }

    /** One line a compared figure, and one for the step model, for a terminal. */
    public List<String> summaryLines() {
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "%-32s %12s %12s %9s", "figure", "twin", "live", "error"));
        for (Metric m : comparison) {
            lines.add(String.format(
                    Locale.ROOT,
                    "%-32s %12.3f %12.3f %+8.1f%%",
                    m.name() + " (" + m.unit() + ")",
                    m.predicted(),
                    m.measured(),
                    100 * m.signedRelativeError()));
        }
        lines.add(String.format(
                Locale.ROOT,
                "%-32s %12.3f %12.3f %+8.1f%%",
                "live steps, twin-priced (s)",
                stepModel.predictedS(),
                stepModel.measuredS(),
                100 * stepModel.signedRelativeError()));
        lines.add(String.format(
                Locale.ROOT,
                "%d requests, %d output tokens on both sides; %d live steps, %d twin steps",
                live.requests(),
                live.outputTokens(),
                live.steps(),
                twin.steps()));
        return lines;
    }
}
