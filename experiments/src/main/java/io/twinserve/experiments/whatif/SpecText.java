package io.twinserve.experiments.whatif;

import io.twinserve.traces.spec.AdaptersSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.Deployments;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
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

    /** The built-in deployment as a workload runs it, and the note on what was changed for it (null: nothing). */
    public record Defaulted(SpecText spec, String note) {}

    /**
     * The built-in what-if deployment for a workload: as it is, or with {@code replica.max_adapter_rank} raised to
     * the workload's largest adapter rank where that is above the built-in's 32 (vLLM would refuse those adapters; a
     * user who gave no deployment asked for defaults, not for that), with a note that says so. A workload that cannot
     * be read (null) gets the built-in deployment as it is: its run reports the problem.
     */
    public static Defaulted builtInDeploymentFor(WorkloadSpec workload) {
        return builtInDeploymentFor(maxRank(workload));
    }

    /**
     * As {@link #builtInDeploymentFor(WorkloadSpec)} for every workload {@code sweep} makes of {@code workload} (its
     * {@code workload.*} settings): the largest rank any of them can have, so that a sweep of the adapters' ranks runs
     * every variant rather than refusing the larger ones.
     */
    public static Defaulted builtInDeploymentFor(SpecText workload, SpecSweep sweep) {
        int maxRank = 0;
        for (Map<String, String> settings : sweep.configurations()) {
            try {
                String yaml = SpecSweep.editReplicaSpec(workload.yaml(), settings, true);
                maxRank = Math.max(maxRank, maxRank(WorkloadSpecs.parse(yaml, workload.file())));
            } catch (IOException | RuntimeException e) {
                // a variant that cannot be read is reported by its own run, naming the swept key
            }
        }
        return builtInDeploymentFor(maxRank);
    }

    /** The largest rank the workload's adapters can have: listed in {@code ranks}, or weighted above 0 (0: none). */
    private static int maxRank(WorkloadSpec workload) {
        if (workload == null
                || workload.adapters() == null
                || workload.adapters().count() == 0) {
            return 0;
        }
        AdaptersSpec a = workload.adapters();
        return a.ranks() != null
                ? a.ranks().stream().mapToInt(Integer::intValue).max().orElse(0)
                : a.rankWeights().entrySet().stream()
                        .filter(e -> e.getValue() > 0)
                        .mapToInt(Map.Entry::getKey)
                        .max()
                        .orElse(0);
    }

    /**
     * The built-in what-if deployment for adapters up to {@code maxRank} (a trace's, which {@code --adapter-rank}
     * gives): as it is, or with its {@code max_adapter_rank} raised to it, with a note.
     */
    public static Defaulted builtInDeploymentFor(int maxRank) {
        SpecText builtIn = builtInDeployment();
        int builtInRank =
                Deployments.parse(builtIn.yaml(), builtIn.file()).replica().maxAdapterRank();
        if (maxRank <= builtInRank) {
            return new Defaulted(builtIn, null);
        }
        try {
            String raised = SpecSweep.editReplicaSpec(
                    builtIn.yaml(), Map.of("replica.max_adapter_rank", Integer.toString(maxRank)), false);
            return new Defaulted(
                    new SpecText(raised, builtIn.file(), null),
                    String.format(
                            Locale.ROOT,
                            "the workload's adapters go up to rank %d, above the built-in deployment's max_adapter_rank %d:"
                                    + " it runs with max_adapter_rank %d (slots reserved at rank %d leave less memory for"
                                    + " the KV cache); give --deployment to choose",
                            maxRank,
                            builtInRank,
                            maxRank,
                            maxRank));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
