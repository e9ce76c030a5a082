package io.twinserve.experiments.whatif;

import io.twinserve.traces.spec.WorkloadSpecs;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A spec's YAML text with the name it is reported under ({@code file}, as in error messages) and the folder
 * its relative paths are read from ({@code baseDir}; null for a built-in spec).
 */
public record SpecText(String yaml, Path file, Path baseDir) {
    public SpecText {
        Objects.requireNonNull(yaml, "yaml");
        Objects.requireNonNull(file, "file");
    }

    /** The spec in {@code file}; relative paths in it are read from the file's folder. */
    public static SpecText read(Path file) throws IOException {
        return new SpecText(
                WorkloadSpecs.readText(file), file, file.toAbsolutePath().getParent());
    }

    /** The built-in what-if workload: the adapter-caching study's 96 adapters in three Poisson rate tiers. */
    public static SpecText builtInWorkload() {
        return new SpecText(resource("what-if-workload.yaml"), Path.of("<built-in workload>"), null);
    }

    /** The built-in what-if deployment: Llama-3.1-8B on a 64 GB H100 with the shipped vLLM calibration. */
    public static SpecText builtInDeployment() {
        return new SpecText(resource("what-if-deployment.yaml"), Path.of("<built-in deployment>"), null);
    }

    /** The same spec under another name and base folder. */
    public SpecText named(Path newFile, Path newBaseDir) {
        return new SpecText(yaml, newFile, newBaseDir);
    }

    private static String resource(String name) {
        try (InputStream in = SpecText.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name + " beside " + SpecText.class.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
