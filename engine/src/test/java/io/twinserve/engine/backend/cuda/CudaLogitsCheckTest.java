package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.SequenceLogits;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU check's logits cases on an emulated device: files in the format {@code model logits} writes (here by
 * the CPU backend through {@link SequenceLogits}, as the command does), read back, run on the CUDA backend, compared
 * and written again with the device's logits; a tp 2 case is skipped; a CPU logit changed on purpose fails.
 */
class CudaLogitsCheckTest {
    private final ObjectMapper mapper = new ObjectMapper();

    @Test
    void everyCaseRunsOnTheDeviceAndIsWrittenForTransformers(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("in/llama");
        RandomModel.write(
                new RandomModel.Spec(
                        RandomModel.config(
                                Architecture.LLAMA, 2, 64, 96, 4, 2, 16, 120, DType.BF16, false, 1, List.of(2)),
                        4,
                        1),
                model);
        Path adapter = dir.resolve("in/llama-a8");
        RandomModel.writeAdapter(model, 8, 16, List.of(Projection.values()), 6, DType.BF16, adapter);
        int[] ids = new int[40];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 37 + 5) % 119 + 1;
        }
        writeCpuCase(dir.resolve("in/llama-a8.long.logits.json"), model, adapter, ids, 16, null, 1);
        writeCpuCase(dir.resolve("in/llama.kvf32.logits.json"), model, null, ids, 0, DType.F32, 1);
        writeCpuCase(dir.resolve("in/llama.tp2.logits.json"), model, null, ids, 0, null, 2);
        CudaLogitsCheck.Device emulated = (files, sized) -> new CudaBackend(
                files,
                new CudaBackend.Options(
                        sized.kvCacheTokens(),
                        sized.blockSize(),
                        sized.adapterSlots(),
                        sized.maxRank(),
                        sized.cudaSizing().kvF32(),
                        0),
                new EmulatedGpu(),
                // fp32 logits: the orchestration is checked exactly here (bf16's rounding in CudaBackendEmulatedTest)
                false);
        List<CudaLogitsCheck.Case> cases = CudaLogitsCheck.run(dir.resolve("in"), dir.resolve("out"), emulated);
        assertThat(cases)
                .extracting(CudaLogitsCheck.Case::name)
                .containsExactly("llama-a8.long", "llama.kvf32", "llama.tp2");
        assertThat(cases.get(0).relativeError()).isLessThan(1e-4);
        assertThat(cases.get(0).chunk()).isEqualTo(16);
        assertThat(cases.get(1).kvDtype()).isEqualTo("f32");
        assertThat(cases.get(1).relativeError()).isLessThan(1e-4);
        assertThat(cases.get(2).skipped()).contains("tp 2");
        assertThat(cases).allMatch(CudaLogitsCheck.Case::pass);
        ObjectNode written = (ObjectNode)
                mapper.readTree(dir.resolve("out/llama-a8.long.logits.json").toFile());
        assertThat(written.path("backend").asText()).isEqualTo("cuda");
        assertThat(written.path("adapter").asText())
                .isEqualTo(adapter.toAbsolutePath().toString());
        assertThat(written.path("logits").size()).isEqualTo(ids.length);
        assertThat(dir.resolve("out/llama.tp2.logits.json")).doesNotExist();

        // a case that travelled without its logits gets the CPU backend's computed on the spot
        ObjectNode bare = (ObjectNode)
                mapper.readTree(dir.resolve("in/llama-a8.long.logits.json").toFile());
        bare.remove("logits");
        mapper.writeValue(dir.resolve("in/llama-a8.long.logits.json").toFile(), bare);

        // a CPU logit moved by a tenth of the largest one: outside the gate
        ObjectNode bad = (ObjectNode)
                mapper.readTree(dir.resolve("in/llama.kvf32.logits.json").toFile());
        ArrayNode row = (ArrayNode) bad.path("logits").get(3);
        row.set(7, mapper.getNodeFactory().numberNode(row.get(7).asDouble() + 0.1 * maxAbs(bad)));
        mapper.writeValue(dir.resolve("in/llama.kvf32.logits.json").toFile(), bad);
        List<CudaLogitsCheck.Case> again = CudaLogitsCheck.run(dir.resolve("in"), dir.resolve("out2"), emulated);
        assertThat(again.get(0).relativeError()).isLessThan(1e-4);
        assertThat(again.get(1).pass()).isFalse();
        assertThat(again.get(1).relativeError()).isGreaterThan(CudaLogitsCheck.GATE);

        // a case whose device fails (a launch refused, say: here every bf16-cache case) is one FAIL row naming the
        // error; the next still runs
        CudaLogitsCheck.Device failsOnTheFirst = (files, sized) -> {
            if (!sized.cudaSizing().kvF32()) {
                throw new IllegalStateException("CUDA_ERROR_LAUNCH_FAILED on purpose");
            }
            return emulated.open(files, sized);
        };
        List<CudaLogitsCheck.Case> failing =
                CudaLogitsCheck.run(dir.resolve("in"), dir.resolve("out3"), failsOnTheFirst);
        assertThat(failing)
                .extracting(CudaLogitsCheck.Case::name)
                .containsExactly("llama-a8.long", "llama.kvf32", "llama.tp2");
        assertThat(failing.get(0).pass()).isFalse();
        assertThat(failing.get(0).error()).contains("CUDA_ERROR_LAUNCH_FAILED on purpose");
        assertThat(failing.get(1).error()).isNull();
        assertThat(failing.get(1).relativeError()).isGreaterThan(CudaLogitsCheck.GATE);
    }

    private static double maxAbs(ObjectNode data) {
        double m = 0;
        for (var row : data.path("logits")) {
            for (var v : row) {
                m = Math.max(m, Math.abs(v.asDouble()));
            }
        }
        return m;
    }

    /** What {@code twinserve model logits} writes for a case (the same document), from the CPU backend. */
    private void writeCpuCase(Path file, Path model, Path adapter, int[] ids, int chunk, DType kv, int tp)
            throws Exception {
        try (ModelFiles files = ModelFiles.open(model);
                Backend cpu = SequenceLogits.backend(EngineBackend.Kind.CPU, tp, ids.length, adapter, kv, chunk)
                        .create(files)) {
            float[] logits = SequenceLogits.run(cpu, files, ids, adapter, chunk);
            ObjectNode root = SequenceLogits.document(
                    model,
                    adapter,
                    tp,
                    chunk == 0 ? ids.length : chunk,
                    "cpu",
                    kv == DType.F32 ? DType.F32 : DType.BF16,
                    null,
                    ids,
                    logits);
            mapper.writeValue(file.toFile(), root);
        }
    }
}
