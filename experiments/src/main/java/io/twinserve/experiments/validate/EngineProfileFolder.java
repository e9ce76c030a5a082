package io.twinserve.experiments.validate;

import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.perf.PerfModelSpec;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A folder written by {@code twinserve engine profile}, read for a twin-against-live run: the deployment
 * the twin simulates, the profiles it names, and the thread count the profile was measured with.
 *
 * @param deploymentFile the deployment read: the folder's own, or an edited copy
 * @param threads the backend threads of the profile's measurements (its calibration's provenance; 1 for a
 *     profile measured on CUDA, where they do not apply)
 * @param backend the backend the profile was measured on (the provenance's {@code backend}; profiles written
 *     before it was recorded were all measured on the CPU)
 */
public record EngineProfileFolder(
        Path dir,
        Path deploymentFile,
        DeploymentSpec deployment,
        Profiles profiles,
        Calibration calibration,
        int threads,
        EngineBackend.Kind backend) {

    static final String DEPLOYMENT = "deployment.yaml";

    /**
     * Reads {@code dir}, with {@code deploymentFile} in place of its deployment.yaml when not null.
     *
     * @throws IllegalArgumentException naming the file and what it lacks
     */
    public static EngineProfileFolder read(Path dir, Path deploymentFile) throws IOException {
        String expected = "expected a folder written by 'twinserve engine profile'";
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--profile " + dir + ": not a folder; " + expected);
        }
        for (String name : new String[] {"gpus.yaml", "models.yaml", "mlp.csv", "calibration.yaml"}) {
            if (!Files.isRegularFile(dir.resolve(name))) {
                throw new IllegalArgumentException("--profile " + dir + ": no " + name + " there; " + expected);
            }
        }
        Path file = deploymentFile != null ? deploymentFile : dir.resolve(DEPLOYMENT);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException((deploymentFile != null ? "--deployment " : "--profile " + dir + ": ")
                    + file
                    + ": no such file; expected a deployment spec (" + (deploymentFile != null ? "such as " : "")
                    + "the deployment.yaml that 'twinserve engine profile' writes)");
        }
        DeploymentSpec spec = Deployments.load(file);
        if (!(spec.perfModel() instanceof PerfModelSpec.Profiled)) {
            throw new IllegalArgumentException(
                    file + ": perf_model.type must be 'profiled' (the engine profile's table)," + " got '"
                            + spec.perfModel().getClass().getSimpleName().toLowerCase(Locale.ROOT) + "'");
        }
        if (spec.perfModel().calibration() == null) {
            throw new IllegalArgumentException(
                    file + ": perf_model.calibration is required: the profile's calibration.yaml");
        }
        Calibration cal = Deployments.calibration(spec.perfModel().calibration());
        String measuredOn = cal.provenance() == null
                ? "cpu"
                : cal.provenance().path("backend").asText("cpu");
        EngineBackend.Kind backend;
        try {
            backend = EngineBackend.Kind.valueOf(measuredOn.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(spec.perfModel().calibration() + ": provenance.backend '" + measuredOn
                    + "' is not a backend; expected cpu or cuda");
        }
        int threads = backend == EngineBackend.Kind.CUDA
                ? 1
                : cal.provenance() == null
                        ? 0
                        : cal.provenance().path("threads").asInt(0);
        if (threads < 1) {
            throw new IllegalArgumentException(
                    spec.perfModel().calibration() + ": provenance.threads is missing; expected"
                            + " the calibration.yaml of 'twinserve engine profile', which records the threads it measured with");
        }
        return new EngineProfileFolder(dir, file, spec, Profiles.builtIn().withDirectory(dir), cal, threads, backend);
    }
}
