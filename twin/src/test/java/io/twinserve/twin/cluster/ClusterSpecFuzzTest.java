package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.profile.ProfileException;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of cluster YAML as {@code what-if --cluster} reads it: the bytes as strict UTF-8, the
 * spec, then its resolution against the built-in profiles (every deployment on its pools, the initial
 * replicas placed together). Each step either succeeds or fails with the exception the command line reports in
 * one line ({@link SpecException} naming the file or key, {@link ProfileException},
 * {@link InsufficientGpuMemoryException}, or an interconnect table that does not exist); anything else is a
 * crash. Traffic is not opened (it reads the workload files the spec names).
 */
class ClusterSpecFuzzTest {
    private static final Path FILE = Path.of("fuzzed", "cluster.yaml");
    private static final Profiles PROFILES = Profiles.builtIn();

    @FuzzTest(maxDuration = "10s")
    void parsesAndResolvesOrRefusesNamingTheKey(byte[] input) throws IOException {
        ClusterSpec spec;
        try {
            spec = Clusters.parse(WorkloadSpecs.decode(input, FILE), FILE);
        } catch (SpecException e) {
            assertThat(e.getMessage()).startsWith(FILE.toString());
            return;
        }
        try {
            ResolvedCluster cluster = Clusters.resolve(spec, PROFILES);
            assertThat(cluster.deployments()).hasSameSizeAs(spec.deployments());
        } catch (SpecException | ProfileException | InsufficientGpuMemoryException | NoSuchFileException e) {
            assertThat(e.getMessage()).isNotBlank();
        }
    }
}
