package io.twinserve.engine.backend.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.SequenceLogits;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The comparison cases of {@code scripts/gpu/prepare-compare.sh} on the CUDA backend (part of the GPU check): each
 * {@code NAME.logits.json} the CPU backend wrote (a model, an adapter or none, the tokens, the chunking and the KV
 * cache's dtype) is run again on the device and compared with the CPU's logits at the gate of ../shared/CUDA.md
 * (2e-2 of the largest logit; a file without logits gets the CPU backend's computed here, so that the cases
 * travel to the GPU machine without them), and written in the same format into an output folder, so that {@code
 * compare_transformers.py} compares the device's logits with transformers + peft as it compares the CPU's. Cases
 * at tp 2 are skipped (the CUDA backend runs one GPU).
 *
 * <p>{@code java ... CudaLogitsCheck IN OUT [--json FILE]}; exits 1 when a case is outside the gate.
 */
public final class CudaLogitsCheck {
    /** max |cuda - cpu| / max |cpu| a case may reach (../shared/CUDA.md). */
    public static final double GATE = 2e-2;

    /** One case: its error against the CPU backend, or why it was skipped. */
    public record Case(
            String name,
            String kvDtype,
            int tokens,
            int chunk,
            double relativeError,
            boolean nan,
            String skipped,
            String error) {
        Case(String name, String kvDtype, int tokens, int chunk, double relativeError, boolean nan, String skipped) {
            this(name, kvDtype, tokens, chunk, relativeError, nan, skipped, null);
        }

        boolean pass() {
            return skipped != null || (error == null && !nan && relativeError <= GATE);
        }
    }

    private CudaLogitsCheck() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: CudaLogitsCheck IN_DIR OUT_DIR [--json FILE]");
            System.exit(2);
        }
        Path in = Path.of(args[0]);
        Path out = Path.of(args[1]);
        Path json = args.length >= 4 && args[2].equals("--json") ? Path.of(args[3]) : null;
        if (!Files.isDirectory(in)) {
            System.err.println(
                    "error: " + in + " is not a folder; expected the cases that scripts/gpu/prepare-compare.sh"
                            + " writes (*.logits.json with their models)");
            System.exit(2);
        }
        try {
            EngineBackend.Kind.requireCuda();
        } catch (CudaUnavailableException e) {
            // one line, as the kernel check says it (not JCuda's page of nested stack traces)
            System.err.println("error: " + e.getMessage());
            System.exit(3);
            return;
        }
        List<Case> cases;
        // one more hold on the device's primary context for the whole run: each case's backend opens and closes its
        // own driver, and the context would otherwise be destroyed and created again for every case
        try (CudaDriver hold = CudaDriver.open(0)) {
            cases = run(in, out);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
            return;
        }
        boolean ok = cases.stream().allMatch(Case::pass);
        if (json != null) {
            if (json.toAbsolutePath().getParent() != null) {
                Files.createDirectories(json.toAbsolutePath().getParent());
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("gate", GATE);
            doc.put("cases", cases);
            doc.put("pass", ok);
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(json.toFile(), doc);
        }
        long run = cases.stream().filter(c -> c.skipped() == null).count();
        long passed =
                cases.stream().filter(c -> c.skipped() == null && c.pass()).count();
        System.out.printf(
                Locale.ROOT, "logits on CUDA against the CPU backend: %d of %d cases within %.0e%n", passed, run, GATE);
        System.exit(ok ? 0 : 1);
    }

    /** Builds a case's CUDA backend over the model's files, as {@link SequenceLogits#backend} sizes it. */
    @FunctionalInterface
    public interface Device {
        Backend open(ModelFiles files, EngineBackend sized);
    }

    /** Runs every case of {@code in} on device 0 and writes the device's logits files into {@code out}. */
    public static List<Case> run(Path in, Path out) throws IOException {
        return run(in, out, (files, sized) -> sized.create(files));
    }

    /** As {@link #run(Path, Path)}, each case's backend built by {@code device}. */
    public static List<Case> run(Path in, Path out, Device device) throws IOException {
        Files.createDirectories(out);
        ObjectMapper mapper = new ObjectMapper();
        List<Path> inputs;
        try (Stream<Path> s = Files.list(in)) {
            inputs = s.filter(p -> p.getFileName().toString().endsWith(".logits.json"))
                    .sorted()
                    .toList();
        }
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException(
                    in + ": no *.logits.json; expected what scripts/gpu/prepare-compare.sh writes");
        }
        List<Case> cases = new ArrayList<>();
        for (Path f : inputs) {
            String name = f.getFileName().toString().replace(".logits.json", "");
            ObjectNode data = (ObjectNode) mapper.readTree(f.toFile());
            int tp = data.path("tp").asInt(1);
            String kv = data.path("kv_cache_dtype").asText("bf16");
            int[] ids = ints(data.path("tokens"));
            int chunk = data.path("chunk").asInt(0);
            if (tp != 1) {
                cases.add(new Case(
                        name, kv, ids.length, chunk, Double.NaN, false, "tp " + tp + ": the CUDA backend runs tp 1"));
                System.out.printf(Locale.ROOT, "%-30s skipped (tp %d)%n", name, tp);
                continue;
            }
            Path model = resolve(data.path("model").asText(), in);
            Path adapter = data.path("adapter").isNull() || data.path("adapter").isMissingNode()
                    ? null
                    : resolve(data.path("adapter").asText(), in);
            DType kvDtype = kv.equals("f32") ? DType.F32 : DType.BF16;
            float[] cuda;
            try (ModelFiles files = ModelFiles.open(model);
                    Backend backend = device.open(
                            files,
                            SequenceLogits.backend(EngineBackend.Kind.CUDA, 1, ids.length, adapter, kvDtype, chunk))) {
                cuda = SequenceLogits.run(backend, files, ids, adapter, chunk);
            } catch (RuntimeException e) {
                // one case failing on the device is one FAIL row; the others still run and the JSON still comes
                cases.add(new Case(name, kv, ids.length, chunk, Double.NaN, false, null, e.toString()));
                System.out.printf(Locale.ROOT, "%-30s threw %s  FAIL%n", name, e);
                continue;
            }
            float[] cpu =
                    data.has("logits") ? floats(data.path("logits")) : cpuLogits(model, adapter, ids, kvDtype, chunk);
            double maxDiff = 0;
            double maxRef = 0;
            boolean nan = false;
            for (int i = 0; i < cuda.length; i++) {
                nan |= Float.isNaN(cuda[i]);
                maxDiff = Math.max(maxDiff, Math.abs(cuda[i] - cpu[i]));
                maxRef = Math.max(maxRef, Math.abs(cpu[i]));
            }
            double rel = maxRef == 0 ? Double.NaN : maxDiff / maxRef;
            Case c = new Case(name, kv, ids.length, chunk, rel, nan, null);
            cases.add(c);
            System.out.printf(
                    Locale.ROOT,
                    "%-30s %s KV, %3d tokens, chunk %3d: %.2e of the largest logit%s  %s%n",
                    name,
                    kv,
                    ids.length,
                    chunk,
                    rel,
                    nan ? " NaN" : "",
                    c.pass() ? "ok" : "FAIL");
            data.put("backend", "cuda");
            data.put("model", model.toAbsolutePath().toString());
            data.put(
                    "adapter", adapter == null ? null : adapter.toAbsolutePath().toString());
            data.set("logits", SequenceLogits.rows(cuda, ids.length));
            mapper.writeValue(out.resolve(f.getFileName()).toFile(), data);
        }
        return cases;
    }

    /** The CPU backend's logits of a case whose file carries none (the GPU check computes them on its machine). */
    private static float[] cpuLogits(Path model, Path adapter, int[] ids, DType kvDtype, int chunk) {
        try (ModelFiles files = ModelFiles.open(model);
                Backend cpu = SequenceLogits.backend(EngineBackend.Kind.CPU, 1, ids.length, adapter, kvDtype, chunk)
                        .create(files)) {
            return SequenceLogits.run(cpu, files, ids, adapter, chunk);
        }
    }

    private static float[] floats(JsonNode rows) {
        int width = rows.get(0).size();
        float[] out = new float[rows.size() * width];
        for (int p = 0; p < rows.size(); p++) {
            for (int v = 0; v < width; v++) {
                out[p * width + v] = (float) rows.get(p).get(v).asDouble();
            }
        }
        return out;
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    /** The folder as recorded, or the folder of that name inside {@code base} (the JSON holds the writer's paths). */
    private static Path resolve(String recorded, Path base) {
        Path p = Path.of(recorded);
        return Files.isDirectory(p) ? p : base.resolve(p.getFileName());
    }
}
