package io.twinserve.experiments.validate;

import io.twinserve.engine.live.StepObserver;
import io.twinserve.twin.perf.PerfModel;
import io.twinserve.twin.perf.StepShape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Every step of the live loop with the twin's price for its shape, recorded on the loop's thread as it
 * runs (primitive columns, grown by doubling), summed into a {@link TwinVsLiveReport.StepModelCheck} and
 * rendered as CSV for looking at where the step model is off.
 */
final class LiveStepLog implements StepObserver {
    private static final String[] KINDS = {"decode only", "with a prefill chunk"};

    private final PerfModel perf;
    private int size;
    private int[] sequences = new int[1024];
    private int[] newTokens = new int[1024];
    private int[] decodes = new int[1024];
    private long[] decodeContext = new long[1024];
    private long[] prefillPairs = new long[1024];
    private int[] adapters = new int[1024];
    private int[] adapterTokens = new int[1024];
    private long[] measuredNs = new long[1024];
    private long[] loadNs = new long[1024];
    private long[] predictedNs = new long[1024];

    LiveStepLog(PerfModel perf) {
        this.perf = perf;
    }

    @Override
    public void onStep(StepShape shape, long stepNs, long adapterLoadNs) {
        if (size == sequences.length) {
            grow();
        }
        sequences[size] = shape.sequences;
        newTokens[size] = shape.newTokens;
        decodes[size] = shape.decodeSequences;
        decodeContext[size] = shape.decodeContextTokens;
        prefillPairs[size] = shape.prefillAttentionPairs;
        adapters[size] = shape.distinctAdapters;
        adapterTokens[size] = shape.adapterTokens;
        measuredNs[size] = stepNs - adapterLoadNs;
        loadNs[size] = adapterLoadNs;
        predictedNs[size] = perf.stepNs(shape);
        size++;
    }

    int steps() {
        return size;
    }

    /** The totals, and the same split into decode-only steps and steps with a prefill chunk. */
    TwinVsLiveReport.StepModelCheck check() {
        long[] steps = new long[2];
        long[] measured = new long[2];
        long[] predicted = new long[2];
        long loads = 0;
        for (int i = 0; i < size; i++) {
            int g = kind(i);
            steps[g]++;
            measured[g] += measuredNs[i];
            predicted[g] += predictedNs[i];
            loads += loadNs[i];
        }
        List<TwinVsLiveReport.StepGroup> groups = new ArrayList<>();
        for (int g = 0; g < 2; g++) {
            groups.add(new TwinVsLiveReport.StepGroup(
                    KINDS[g],
                    steps[g],
                    measured[g] / 1e9,
                    predicted[g] / 1e9,
                    steps[g] == 0 ? Double.NaN : (predicted[g] - measured[g]) / (double) measured[g]));
        }
        TwinVsLiveReport.Metric all = TwinVsLiveReport.Metric.of(
                "steps", "s", (predicted[0] + predicted[1]) / 1e9, (measured[0] + measured[1]) / 1e9);
        return new TwinVsLiveReport.StepModelCheck(
                size,
                all.measured(),
                all.predicted(),
                all.relativeError(),
                all.signedRelativeError(),
                loads / 1e9,
                groups);
    }

    /** One CSV line a step: its shape, its measured time less adapter loads, the loads, the twin's price. */
    String csv() {
        StringBuilder b = new StringBuilder("step,kind,sequences,new_tokens,decode_sequences,decode_context_tokens,"
                + "prefill_attention_pairs,distinct_adapters,adapter_tokens,measured_ms,adapter_load_ms,twin_ms\n");
        for (int i = 0; i < size; i++) {
            b.append(String.format(
                    Locale.ROOT,
                    "%d,%s,%d,%d,%d,%d,%d,%d,%d,%.4f,%.4f,%.4f%n",
                    i,
                    kind(i) == 0 ? "decode" : "prefill",
                    sequences[i],
                    newTokens[i],
                    decodes[i],
                    decodeContext[i],
                    prefillPairs[i],
                    adapters[i],
                    adapterTokens[i],
                    measuredNs[i] / 1e6,
                    loadNs[i] / 1e6,
                    predictedNs[i] / 1e6));
        }
        return b.toString();
    }

    private int kind(int i) {
        return decodes[i] == sequences[i] ? 0 : 1;
    }

    private void grow() {
        int n = size * 2;
        sequences = Arrays.copyOf(sequences, n);
        newTokens = Arrays.copyOf(newTokens, n);
        decodes = Arrays.copyOf(decodes, n);
        decodeContext = Arrays.copyOf(decodeContext, n);
        prefillPairs = Arrays.copyOf(prefillPairs, n);
        adapters = Arrays.copyOf(adapters, n);
        adapterTokens = Arrays.copyOf(adapterTokens, n);
        measuredNs = Arrays.copyOf(measuredNs, n);
        loadNs = Arrays.copyOf(loadNs, n);
        predictedNs = Arrays.copyOf(predictedNs, n);
    }
}
