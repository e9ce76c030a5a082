package io.twinserve.placement;

import io.twinserve.traces.Provenance;
import io.twinserve.traces.spec.WorkloadSpecs;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/** Loading sweep specs, and the built-in one that reproduces the adapter-caching study's grid. */
public final class Sweeps {
    /** The built-in spec that reproduces the study's grid. */
    public static final String STUDY_GRID = "study-grid.yaml";

    /** The study's grid over length shapes and burstiness, sampled by family. */
    public static final String DIVERSE_GRID = "diverse-grid.yaml";

    /** The grid the shipped placement model is trained on: denser rates, length shapes and burstiness, early stops. */
    public static final String TRAINING_GRID = "training-grid.yaml";

    /** The shipped model's other GPUs (four GPU types at tp 1 and 2), trained beside {@link #TRAINING_GRID}. */
    public static final String TRAINING_GRID_GPUS = "training-grid-gpus.yaml";

    /** The built-in specs by the names the command line takes. */
    public static final Map<String, String> BUILT_IN = Map.of(
            "diverse-grid",
            DIVERSE_GRID,
            "study-grid",
            STUDY_GRID,
            "training-grid",
            TRAINING_GRID,
            "training-grid-gpus",
            TRAINING_GRID_GPUS);

    private Sweeps() {}

    public static SweepSpec parse(String yaml, Path file) {
        return WorkloadSpecs.parse(yaml, file, SweepSpec.class);
    }

    public static String read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such sweep spec file");
        }
        return WorkloadSpecs.readText(file);
    }

    /** The text of a built-in spec. */
    public static String builtInText(String name) {
        try (InputStream in = Sweeps.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalArgumentException("no built-in sweep spec " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String sha256(String text) {
        return Provenance.sha256(text);
    }
}
