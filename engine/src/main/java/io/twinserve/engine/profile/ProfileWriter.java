package io.twinserve.engine.profile;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Writes the files of an engine profile (the format is in docs/engine-profile.md). */
final class ProfileWriter {
    static final String TABLE = "mlp.csv";
    static final String STEPS = "steps.csv";
    static final String HARDWARE = "gpus.yaml";
    static final String MODELS = "models.yaml";
    static final String CALIBRATION = "calibration.yaml";
    static final String DEPLOYMENT = "deployment.yaml";

    private static final ObjectMapper YAML = new YAMLMapper()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    /** The deployment's KV cache and longest sequence: a starting point, not measured. */
    private static final int SERVING_KV_TOKENS = 16384;

    private static final int SERVING_MAX_MODEL_LEN = 4096;
    /** The deployment's most sequences per step: the live loop's CPU default ({@code LiveConfig.defaults}). */
    private static final int SERVING_MAX_NUM_SEQS = 32;

    private ProfileWriter() {}

    /**
     * The Vidur-format table: for each token count, the measured step time divided by the layers. The engine
     * times whole steps, not operators, so the per-operator columns split each layer's time in proportion to
     * the parameters of its projections (norms, rotary embedding, activation and residual adds 0, embedding
     * 0); only their sum, which is what the twin reads, is a measurement.
     */
    static void writeTable(EngineProfiler.Measurements m, ModelProfile model, Path file) throws IOException {
        long h = model.hiddenSize();
        double qkv = h * (model.queryWidth() + 2L * model.kvWidth());
        double o = (double) model.queryWidth() * h;
        double up = 2.0 * h * model.intermediateSize();
        double down = (double) model.intermediateSize() * h;
        double total = qkv + o + up + down;
        StringBuilder sb = new StringBuilder();
        sb.append("num_tokens,num_tensor_parallel_workers,n_head,n_kv_head,n_embd,n_expanded_embd,vocab_size,"
                + "use_gated_mlp,time_stats.emb.median,time_stats.input_layernorm.median,time_stats.attn_pre_proj.median,"
                + "time_stats.attn_rope.median,time_stats.attn_post_proj.median,"
                + "time_stats.post_attention_layernorm.median,time_stats.mlp_up_proj.median,time_stats.mlp_act.median,"
                + "time_stats.mlp_down_proj.median,time_stats.add.median,step_ms.median,step_ms.min,step_ms.max,"
                + "repetitions\n");
        for (StepMeasurement s : m.steps()) {
            if (s.kind() != StepMeasurement.Kind.TABLE) {
                continue;
            }
            double layerMs = s.medianNs() / 1e6 / model.layers();
            sb.append(String.format(
                    Locale.ROOT,
                    "%d,%d,%d,%d,%d,%d,%d,True,0,0,%.9g,0,%.9g,0,%.9g,0,%.9g,0,%.6f,%.6f,%.6f,%d%n",
                    s.tokens(),
                    m.tensorParallel(),
                    model.heads(),
                    model.kvHeads(),
                    model.hiddenSize(),
                    model.intermediateSize(),
                    model.vocabSize(),
                    layerMs * qkv / total,
                    layerMs * o / total,
                    layerMs * up / total,
                    layerMs * down / total,
                    s.medianNs() / 1e6,
                    s.minNs() / 1e6,
                    s.maxNs() / 1e6,
                    s.repetitions()));
        }
        Files.writeString(file, sb.toString());
    }

    /** Every measurement with the twin's prediction for its shape. */
    static void writeSteps(EngineProfiler.Measurements m, List<ProfileFit.Row> rows, Path file) throws IOException {
        StringBuilder sb = new StringBuilder("kind,sequences,tokens_per_sequence,context_tokens,adapters,rank,logits,"
                + "median_ms,min_ms,max_ms,repetitions,predicted_ms\n");
        for (int i = 0; i < m.steps().size(); i++) {
            StepMeasurement s = m.steps().get(i);
            sb.append(String.format(
                    Locale.ROOT,
                    "%s,%d,%d,%d,%d,%d,%s,%.6f,%.6f,%.6f,%d,%.6f%n",
                    s.kind().key(),
                    s.sequences(),
                    s.tokensPerSequence(),
                    s.contextTokens(),
                    s.adapters(),
                    s.rank(),
                    s.logits(),
                    s.medianNs() / 1e6,
                    s.minNs() / 1e6,
                    s.maxNs() / 1e6,
                    s.repetitions(),
                    rows.get(i).predictedMs()));
        }
        Files.writeString(file, sb.toString());
    }

    static void writeHardware(GpuProfile g, Path file) throws IOException {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("memory_gib", round(g.memoryGib()));
        v.put("hbm_bandwidth", g.hbmBandwidth());
        v.put("bf16_flops", g.bf16Flops());
        v.put("fp8_flops", 0);
        v.put("interconnect_bandwidth", g.interconnectBandwidth());
        v.put("pcie_bandwidth", g.pcieBandwidth());
        v.put("source", g.source());
        write(
                file,
                "A CPU as a twin hardware profile: bandwidth and FLOP/s achieved by the engine (fitted)",
                Map.of(g.name(), v));
    }

    static void writeModel(ModelProfile p, Path file) throws IOException {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("layers", p.layers());
        v.put("hidden_size", p.hiddenSize());
        v.put("heads", p.heads());
        v.put("kv_heads", p.kvHeads());
        v.put("head_dim", p.headDim());
        v.put("intermediate_size", p.intermediateSize());
        v.put("vocab_size", p.vocabSize());
        v.put("max_model_len", p.maxModelLen());
        v.put("tied_embeddings", p.tiedEmbeddings());
        v.put("dtype", p.dtype());
        write(file, "The profiled model as a twin model profile", Map.of(p.name(), v));
    }

    static void writeCalibration(ProfileFit.Fitted f, String engine, Map<String, Object> provenance, Path file)
            throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put(
                "name",
                "engine-profile/" + f.hardware().name() + "/" + f.model().name());
        doc.put("engine", engine);
        doc.put("gpu", f.hardware().name());
        doc.put("model", f.model().name());
        doc.put("roofline", f.params());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (ProfileFit.Row r : f.rows()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("file", r.quantity().equals("step_ms") ? STEPS : "adapter loads");
            row.put("row", r.shape());
            row.put("quantity", r.quantity());
            row.put("measured", round(r.measuredMs()));
            row.put("predicted", round(r.predictedMs()));
            row.put("error_pct", Math.round(r.errorPct() * 1000) / 1000.0);
            rows.add(row);
        }
        doc.put("fit", Map.of("rows", rows));
        doc.put("provenance", provenance);
        write(file, "Written by 'twinserve engine profile'. Do not edit: re-run the command.", doc);
    }

    /**
     * A deployment that runs the profiled model on the profiled CPU with the {@code profiled} model. Paths
     * are absolute so that it works from any folder; run what-if with {@code --profiles} on this folder.
     */
    static void writeDeployment(
            ProfileFit.Fitted f, Path dir, int tp, int maxAdapters, int maxRank, int blockSize, int maxTableTokens)
            throws IOException {
        Map<String, Object> replica = new LinkedHashMap<>();
        replica.put("tp", tp);
        replica.put("kv_cache_len", SERVING_KV_TOKENS);
        replica.put("max_model_len", Math.min(SERVING_MAX_MODEL_LEN, f.model().maxModelLen()));
        replica.put("max_adapters", maxAdapters);
        replica.put("max_adapter_rank", maxRank);
        replica.put("block_size", blockSize);
        // steps of more tokens than the table's largest row would be extrapolated from it
        replica.put("max_num_batched_tokens", maxTableTokens);
        replica.put("max_num_seqs", Math.min(SERVING_MAX_NUM_SEQS, maxTableTokens));
        Map<String, Object> perf = new LinkedHashMap<>();
        perf.put("type", "profiled");
        perf.put("table", dir.toAbsolutePath().resolve(TABLE).toString());
        perf.put("calibration", dir.toAbsolutePath().resolve(CALIBRATION).toString());
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("name", f.model().name() + "-on-" + f.hardware().name());
        doc.put("model", f.model().name());
        doc.put("gpu", f.hardware().name());
        doc.put("replica", replica);
        doc.put("perf_model", perf);
        write(
                file(dir, DEPLOYMENT),
                "twinserve what-if --profiles " + dir + " --deployment " + dir.resolve(DEPLOYMENT)
                        + "\nThe replica settings are a starting point: set them to what the CPU backend will run with"
                        + "\n(it keeps K/V in float32, 4 bytes per element)",
                doc);
    }

    private static Path file(Path dir, String name) {
        return dir.resolve(name);
    }

    private static void write(Path file, String comment, Object doc) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String line : comment.split("\n")) {
            sb.append("# ").append(line).append('\n');
        }
        sb.append(YAML.writeValueAsString(doc));
        Files.writeString(file, sb.toString());
    }

    private static double round(double v) {
        return Double.parseDouble(String.format(Locale.ROOT, "%.6g", v));
    }
}
