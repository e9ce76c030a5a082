package io.twinserve.engine.backend.cpu;

import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Tiny random models and adapters for tests, written in the real file formats. */
final class TinyModels {
    private TinyModels() {}

    static ModelConfig config(Architecture arch, DType dtype) {
        return config(arch, dtype, 4, 2, 16);
    }

    static ModelConfig config(Architecture arch, DType dtype, int heads, int kvHeads, int headDim) {
        return RandomModel.config(
                arch, 2, 64, 96, heads, kvHeads, headDim, 300, dtype, arch == Architecture.QWEN2, 1, List.of(2));
    }

    static Path model(Path dir, Architecture arch, DType dtype, int shards) throws IOException {
        return model(dir, config(arch, dtype), shards);
    }

    static Path model(Path dir, ModelConfig config, int shards) throws IOException {
        RandomModel.write(new RandomModel.Spec(config, 7, shards), dir);
        return dir;
    }

    static Path adapter(Path base, Path dir, int rank, List<Projection> targets, long seed) throws IOException {
        RandomModel.writeAdapter(base, rank, 2.0 * rank, targets, seed, DType.F32, dir);
        return dir;
    }
}
