package io.twinserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.model.write.RandomModel;
import io.twinserve.engine.model.write.SafeTensorsWriter;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFilesTest {
    @TempDir
    Path tmp;

    private Path write(Architecture arch, int hidden, int shards) throws Exception {
        Path dir = tmp.resolve(arch + "-" + hidden + "-" + shards);
        RandomModel.write(
                new RandomModel.Spec(
                        RandomModel.config(
                                arch, 2, hidden, 2 * hidden, 4, 2, hidden / 4, 100, DType.BF16, false, 1, List.of(2)),
                        1,
                        shards),
                dir);
        return dir;
    }

    @Test
    void readsEachArchitectureFromSingleAndShardedFilesWithTheTensorsItNeeds() throws Exception {
        for (Architecture arch : Architecture.values()) {
            for (int shards : new int[] {1, 3}) {
                try (ModelFiles m = ModelFiles.open(write(arch, 32, shards))) {
                    assertThat(m.config().architecture()).isEqualTo(arch);
                    assertThat(m.layers()).hasSize(2);
                    assertThat(m.layers().get(0).qBias() != null).isEqualTo(arch == Architecture.QWEN2);
                    assertThat(m.layers().get(1).qNorm() != null).isEqualTo(arch == Architecture.QWEN3);
                    assertThat(m.stopTokenIds()).containsExactly(2);
                    assertThat(m.weightBytes())
                            .isEqualTo(2
                                    * (m.config().parameters()
                                            + (arch == Architecture.QWEN2 ? 2L * (32 + 16 + 16) : 0)
                                            + (arch == Architecture.QWEN3 ? 2L * 2 * 8 : 0)));
                    if (shards == 3) {
                        assertThat(Files.exists(m.dir().resolve("model.safetensors.index.json")))
                                .isTrue();
                        assertThat(m.tensorFiles().values())
                                .contains("model-00001-of-00003.safetensors", "model-00003-of-00003.safetensors");
                    }
                }
            }
        }
    }

    @Test
    void writesAndReadsBackValuesInEveryDtype() throws Exception {
        float[] values = {1.5f, -2.25f, 3.0e-3f, 65504f};
        for (DType d : DType.values()) {
            Path f = tmp.resolve("t-" + d + ".safetensors");
            new SafeTensorsWriter().add("x", d, new long[] {2, 2}, values).write(f, Map.of());
            try (var arena = java.lang.foreign.Arena.ofConfined()) {
                SafeTensorsFile st = SafeTensorsFile.open(f, arena);
                SafeTensorsFile.Entry e = st.entries().get("x");
                Tensor t = Tensor.dense("x", e.dtype(), 2, 2, st.bytes(e));
                assertThat(t.toFloats()[0]).isEqualTo(1.5f);
                assertThat(t.get(0, 1)).isEqualTo(-2.25f);
                assertThat(t.get(1, 0)).isCloseTo(3.0e-3f, Offset.offset(2e-5f));
            }
        }
    }

    @Test
    void missingTensorIsNamedWithItsFiles() throws Exception {
        Path dir = write(Architecture.LLAMA, 32, 1);
        Path f = dir.resolve("model.safetensors");
        // rewrite the file without one tensor
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            SafeTensorsFile st = SafeTensorsFile.open(f, arena);
            for (SafeTensorsFile.Entry e : st.entries().values()) {
                if (!e.name().equals("model.layers.1.mlp.up_proj.weight")) {
                    float[] v = Tensor.dense(e.name(), e.dtype(), 1, (int) e.elements(), st.bytes(e))
                            .toFloats();
                    w.add(e.name(), e.dtype(), e.shape(), v);
                }
            }
        }
        w.write(f, Map.of());
        assertThatThrownBy(() -> ModelFiles.open(dir))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("tensor model.layers.1.mlp.up_proj.weight is missing from model.safetensors")
                .hasMessageContaining("LlamaForCausalLM");
    }

    @Test
    void shapeThatDisagreesWithConfigNamesTensorAndBothShapes() throws Exception {
        Path dir = write(Architecture.QWEN2, 32, 1);
        // the config now claims a larger MLP than the weights have
        String config = Files.readString(dir.resolve("config.json"))
                .replace("\"intermediate_size\" : 64", "\"intermediate_size\" : 80");
        Files.writeString(dir.resolve("config.json"), config);
        assertThatThrownBy(() -> ModelFiles.open(dir))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining(
                        "tensor model.layers.0.mlp.gate_proj.weight has shape [64, 32] but config.json implies [80, 32]");
    }

    @Test
    void truncatedFileSaysWhichTensorRunsPastTheEnd() throws Exception {
        Path dir = write(Architecture.LLAMA, 32, 1);
        Path f = dir.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(raf.length() - 100);
        }
        assertThatThrownBy(() -> ModelFiles.open(dir))
                .isInstanceOf(ModelFileException.class)
                .hasMessageStartingWith(f.toString())
                .hasMessageContaining("truncated: tensor")
                .hasMessageContaining("ends at byte");
    }

    @Test
    void unsupportedArchitectureListsTheSupportedOnes() throws Exception {
        Path dir = write(Architecture.LLAMA, 32, 1);
        Files.writeString(
                dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json"))
                        .replace("LlamaForCausalLM", "GPT2LMHeadModel")
                        .replace("\"model_type\" : \"llama\"", "\"model_type\" : \"gpt2\""));
        assertThatThrownBy(() -> ModelFiles.open(dir))
                .isInstanceOf(ModelFileException.class)
                .hasMessageContaining("config.json")
                .hasMessageContaining("architectures[0] 'GPT2LMHeadModel'")
                .hasMessageContaining("Qwen3ForCausalLM (qwen3)");
    }

    @Test
    void adapterForAnotherBaseModelIsRefusedNamingTheTensor() throws Exception {
        Path small = write(Architecture.LLAMA, 32, 1);
        Path big = write(Architecture.LLAMA, 48, 1);
        Path adapter = tmp.resolve("adapter");
        RandomModel.writeAdapter(big, 8, 16, List.of(Projection.Q, Projection.V), 3, DType.BF16, adapter);
        try (ModelFiles m = ModelFiles.open(small)) {
            assertThatThrownBy(() -> LoraAdapter.load("a", adapter, m.config()))
                    .isInstanceOf(ModelFileException.class)
                    .hasMessageContaining("adapter_model.safetensors")
                    .hasMessageContaining(
                            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight has shape [8, 48]")
                    .hasMessageContaining("adapter is for another base model");
        }
    }

    @Test
    void adaptersOfManyRanksLoadWithTheirScale() throws Exception {
        Path base = write(Architecture.QWEN3, 32, 1);
        try (ModelFiles m = ModelFiles.open(base)) {
            for (int rank : new int[] {1, 16, 256}) {
                Path dir = tmp.resolve("r" + rank);
                RandomModel.writeAdapter(base, rank, 2.0 * rank, List.of(Projection.values()), rank, DType.BF16, dir);
                LoraAdapter a = LoraAdapter.load("r" + rank, dir, m.config());
                assertThat(a.rank()).isEqualTo(rank);
                assertThat(a.scale()).isEqualTo(2f);
                assertThat(a.a(1, Projection.DOWN)).hasSize(rank * 64);
                assertThat(a.b(1, Projection.DOWN)).hasSize(32 * rank);
            }
            Path bad = tmp.resolve("r300");
            Files.createDirectories(bad);
            Files.writeString(bad.resolve("adapter_config.json"), "{\"r\": 300, \"target_modules\": [\"q_proj\"]}");
            assertThatThrownBy(() -> LoraAdapter.load("x", bad, m.config()))
                    .hasMessageContaining("adapter_config.json: r is 300; expected an integer from 1 to 256");
        }
    }
}
