package io.twinserve.engine.profile;

import io.twinserve.engine.model.ModelConfig;
import io.twinserve.twin.calibrate.LeastSquares;
import io.twinserve.twin.perf.ProfiledPerfModel;
import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflineParams.Term;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.perf.StepShape;
import io.twinserve.twin.perf.VidurMlpTable;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Fits the parameters the twin's profiled model takes from the roofline to an engine's measurements:
 * the hardware's achieved bandwidth and FLOP/s from the table's extremes, the attention FLOP/s efficiency
 * from the decode and prefill steps, the LoRA terms from the adapter steps and the adapter-load terms from
 * the slot copies. Each is what the twin's {@link RooflinePerfModel} formula needs to reproduce the
 * measurement, with the table itself replacing the linear layers.
 */
public final class ProfileFit {
    /** One measurement against what the twin predicts for its shape with the fitted profile. */
    public record Row(String quantity, String shape, double measuredMs, double predictedMs) {
        public double errorPct() {
            return 100.0 * (predictedMs - measuredMs) / measuredMs;
        }
    }

    /** The fitted profile. */
    public record Fitted(ModelProfile model, GpuProfile hardware, RooflineParams params, List<Row> rows) {}

    private ProfileFit() {}

    /** The twin's model profile of an engine model, under {@code name}. */
    public static ModelProfile modelProfile(ModelConfig c, String name) {
        String dtype = switch (c.dtype()) {
            case BF16 -> "bf16";
            case F16 -> "fp16";
            case F32 -> "fp32";
        };
        return new ModelProfile(
                name,
                c.numLayers(),
                c.hiddenSize(),
                c.numHeads(),
                c.numKvHeads(),
                c.headDim(),
                c.intermediateSize(),
                c.vocabSize(),
                c.maxPositionEmbeddings(),
                c.tieWordEmbeddings(),
                dtype);
    }

    /** The twin's step shape of a measurement. */
    public static StepShape shapeOf(StepMeasurement m) {
        StepShape s = new StepShape();
        boolean decode = m.kind() == StepMeasurement.Kind.DECODE;
        for (int i = 0; i < m.sequences(); i++) {
            s.addSequence(m.tokensPerSequence(), m.contextTokens(), decode, m.logits(), false, m.adapters() > 0);
        }
        s.distinctAdapters = m.adapters();
        s.adapterRankSum = (long) m.adapters() * m.rank();
        return s;
    }

    /**
     * Fits the profile. {@code table} is the Vidur table written from the same measurements, which the fitted
     * model's predictions read as the twin does.
     */
    public static Fitted fit(
            EngineProfiler.Measurements m,
            ModelProfile model,
            String hardwareName,
            double memoryGib,
            String hardwareSource,
            Path table)
            throws IOException {
        int tp = m.tensorParallel();
        Map<Integer, Long> tableNs = new HashMap<>();
        for (StepMeasurement s : m.steps()) {
            if (s.kind() == StepMeasurement.Kind.TABLE) {
                tableNs.put(s.tokens(), s.medianNs());
            }
        }
        // achieved bandwidth: the layers' weights over the fastest per-weight-byte step (one token, where a
        // step reads every weight once and computes little); achieved FLOP/s: the best over the table, reached
        // at the largest batches
        double layerBytes = (double) model.layers() * model.paramsPerLayer() * model.dtypeBytes() / tp;
        double layerFlopsPerToken = 2.0 * model.layers() * model.paramsPerLayer() / tp;
        double bandwidth = 0;
        double flops = 0;
        for (Map.Entry<Integer, Long> e : tableNs.entrySet()) {
            double seconds = e.getValue() / 1e9;
            bandwidth = Math.max(bandwidth, layerBytes / seconds);
            flops = Math.max(flops, layerFlopsPerToken * e.getKey() / seconds);
        }
        GpuProfile hardware =
                new GpuProfile(hardwareName, memoryGib, bandwidth, flops, 0, bandwidth, bandwidth, hardwareSource);

        double attentionEfficiency = attentionEfficiency(m, model, flops, tableNs, StepMeasurement.Kind.PREFILL);
        double decodeEfficiency = attentionEfficiency(m, model, flops, tableNs, StepMeasurement.Kind.DECODE);
        RooflineParams noLora = RooflineParams.none()
                .with(Term.ATTENTION_FLOPS_EFFICIENCY, attentionEfficiency)
                .with(Term.DECODE_ATTENTION_FLOPS_EFFICIENCY, decodeEfficiency);
        RooflinePerfModel bare = new RooflinePerfModel(model, hardware, tp, noLora, (bytes, gpus) -> 0);
        double[] lora = loraTerms(m, bare, tableNs);
        double[] load = adapterLoadTerms(m, model);
        RooflineParams params = noLora.with(
                List.of(
                        Term.LORA_FIXED_NS,
                        Term.LORA_PER_ADAPTER_NS,
                        Term.LORA_PER_RANK_NS,
                        Term.LORA_PER_TOKEN_RANK_NS,
                        Term.ADAPTER_LOAD_FIXED_NS,
                        Term.ADAPTER_LOAD_NS_PER_BYTE),
                new double[] {lora[0], lora[1], lora[2], lora[3], load[0], load[1]});

        RooflinePerfModel roofline = new RooflinePerfModel(model, hardware, tp, params, (bytes, gpus) -> 0);
        ProfiledPerfModel profiled = new ProfiledPerfModel(roofline, VidurMlpTable.read(table, tp), model);
        List<Row> rows = new ArrayList<>();
        for (StepMeasurement s : m.steps()) {
            rows.add(new Row("step_ms", describe(s), s.medianNs() / 1e6, profiled.stepNs(shapeOf(s)) / 1e6));
        }
        for (AdapterLoadMeasurement a : m.adapterLoads()) {
            rows.add(new Row(
                    "adapter_load_ms",
                    "rank " + a.rank(),
                    a.medianNs() / 1e6,
                    profiled.adapterLoadFromCpuNs(a.rank(), a.rank()) / 1e6));
        }
        return new Fitted(model, hardware, params, rows);
    }

    /** A measurement's shape in words, as the fit rows and steps.csv name it. */
    public static String describe(StepMeasurement s) {
        String text = s.kind().key() + " " + s.sequences() + "x" + s.tokensPerSequence() + " ctx " + s.contextTokens();
        if (s.adapters() > 0) {
            text += " adapters " + s.adapters() + " rank " + s.rank();
        }
        return s.logits() ? text + " logits" : text;
    }

    /**
     * An attention FLOP/s efficiency, of the prefill chunks or of the decodes ({@code kind}): one time per
     * query-key pair fitted through the origin (least squares) to those steps' time beyond the table's at the
     * same token count, then the roofline's 4·layers·heads·head_dim FLOPs per pair over that time, as a
     * fraction of the hardware's FLOP/s. Apart, because the CPU backend's decodes (each sequence reading its
     * own K/V) cost about three times as much per pair as its prefill chunks.
     */
    private static double attentionEfficiency(
            EngineProfiler.Measurements m,
            ModelProfile model,
            double flops,
            Map<Integer, Long> tableNs,
            StepMeasurement.Kind kind) {
        double sxy = 0;
        double sxx = 0;
        for (StepMeasurement s : m.steps()) {
            if (s.kind() != kind) {
                continue;
            }
            long n = s.tokensPerSequence();
            long extraPairs = kind == StepMeasurement.Kind.DECODE
                    ? (long) s.sequences() * s.contextTokens()
                    : n * s.contextTokens() + n * (n + 1) / 2 - n;
            double extraNs = s.medianNs() - tableNs.get(s.tokens());
            sxy += extraNs * extraPairs;
            sxx += (double) extraPairs * extraPairs;
        }
        double nsPerPair = sxx > 0 ? sxy / sxx : 0;
        if (!(nsPerPair > 0)) {
            return 1;
        }
        double flopsPerPair = 4.0 * model.layers() * model.heads() * model.headDim() / m.tensorParallel();
        double efficiency = flopsPerPair / (flops * nsPerPair * 1e-9);
        return Math.min(1, Math.max(1e-6, efficiency));
    }

    /**
     * lora_fixed_ns, lora_per_adapter_ns, lora_per_rank_ns and lora_per_token_rank_ns: non-negative least
     * squares of the adapter steps' time beyond the table's (less the roofline's adapter FLOP and byte term)
     * on 1, the distinct adapters, the sum of their ranks and the adapter tokens times their rank. The grid
     * times LoRA at several batch sizes so that the last column is told apart from the first three.
     */
    private static double[] loraTerms(
            EngineProfiler.Measurements m, RooflinePerfModel bare, Map<Integer, Long> tableNs) {
        List<double[]> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (StepMeasurement s : m.steps()) {
            if (s.kind() != StepMeasurement.Kind.LORA) {
                continue;
            }
            StepShape with = shapeOf(s);
            StepShape without = with.copy();
            without.distinctAdapters = 0;
            without.adapterRankSum = 0;
            without.adapterTokens = 0;
            double roof = bare.stepNs(with) - bare.stepNs(without);
            x.add(new double[] {1, s.adapters(), (double) s.adapters() * s.rank(), (double) s.tokens() * s.rank()});
            y.add(s.medianNs() - tableNs.get(s.tokens()) - roof);
        }
        return LeastSquares.fitNonNegative(x, y, 4);
    }

    /** adapter_load_fixed_ns and adapter_load_ns_per_byte over the bytes the twin charges for each rank. */
    private static double[] adapterLoadTerms(EngineProfiler.Measurements m, ModelProfile model) {
        List<double[]> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (AdapterLoadMeasurement a : m.adapterLoads()) {
            x.add(new double[] {1, (double) model.loraParamsPerRank() * model.activationBytes() * a.rank()});
            y.add((double) a.medianNs());
        }
        return LeastSquares.fitNonNegative(x, y, 2);
    }
}
