package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.calibrate.Calibrator;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every YAML file the twin reads (deployments, clusters, the workloads a cluster's traffic names, calibration
 * setups, calibrations and profiles) is strict UTF-8: a Latin-1 byte is a {@link SpecException} naming the
 * file, the line and the byte offset, not a {@code MalformedInputException} ("Input length = 1") without a file.
 */
class InvalidUtf8SpecFilesTest {
    /** "name: café" in Latin-1 on line 2: the é is byte 0xe9 at offset 16. */
    private static Path latin1(Path dir, String name) throws IOException {
        return Files.write(dir.resolve(name), "# spec\nname: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
    }

    private static void refusedNamingFileLineAndOffset(ThrowingCall call, Path file) {
        assertThatThrownBy(call::run)
                .isInstanceOf(SpecException.class)
                .hasMessageStartingWith(file + ":2: ")
                .hasMessageContaining("is not valid UTF-8: byte 0xe9 at offset 16");
    }

    @FunctionalInterface
    private interface ThrowingCall {
        void run() throws Exception;
    }

    @Test
    void deploymentSpec(@TempDir Path dir) throws IOException {
        Path file = latin1(dir, "deployment.yaml");
        refusedNamingFileLineAndOffset(() -> Deployments.load(file), file);
    }

    @Test
    void calibrationFile(@TempDir Path dir) throws IOException {
        Path file = latin1(dir, "calibration.yaml");
        refusedNamingFileLineAndOffset(() -> Deployments.calibration(file.toString()), file);
    }

    @Test
    void clusterSpec(@TempDir Path dir) throws IOException {
        Path file = latin1(dir, "cluster.yaml");
        refusedNamingFileLineAndOffset(() -> Clusters.load(file), file);
    }

    @Test
    void workloadNamedByAClustersTraffic(@TempDir Path dir) throws IOException {
        Path workload = latin1(dir, "workload.yaml");
        Path cluster = Files.writeString(dir.resolve("cluster.yaml"), """
                name: utf8
                pools:
                  - {name: h100, gpu: h100-sxm-80gb, gpus_per_node: 8, nodes: 1}
                deployments:
                  - {name: chat, model: llama-3.1-8b, pools: [h100], replicas: {initial: 1}}
                traffic:
                  - {workload: workload.yaml}
                """);
        ClusterSpec spec = Clusters.load(cluster);
        refusedNamingFileLineAndOffset(() -> ClusterTraffic.open(spec, dir, 1.0, null), workload);
    }

    @Test
    void calibrationSetup(@TempDir Path dir) throws IOException {
        Path file = latin1(dir, "setup.yaml");
        refusedNamingFileLineAndOffset(() -> Calibrator.forFolder(dir, Profiles.builtIn()), file);
    }

    @Test
    void profilesFolder(@TempDir Path dir) throws IOException {
        Path file = latin1(dir, "gpus-extra.yaml");
        refusedNamingFileLineAndOffset(() -> Profiles.builtIn().withDirectory(dir), file);
    }
}
