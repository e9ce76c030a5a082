package io.twinserve.twin.deploy;

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
 * Coverage-guided fuzzing of deployment YAML as {@code what-if --deployment} reads it: the bytes as strict
 * UTF-8, the spec, then its resolution against the built-in profiles (KV blocks, adapter slots, the perf model).
 * Each step either succeeds or fails with the exception the command line reports in one line
 * ({@link SpecException} naming the file or key, {@link ProfileException}, {@link InsufficientGpuMemoryException},
 * or a calibration file that does not exist); anything else is a crash.
 */
class DeploymentSpecFuzzTest {
    private static final Path FILE = Path.of("fuzzed", "deployment.yaml");
    private static final Profiles PROFILES = Profiles.builtIn();

    @FuzzTest(maxDuration = "10s")
    void parsesAndResolvesOrRefusesNamingTheKey(byte[] input) throws IOException {
        DeploymentSpec spec;
        try {
            spec = Deployments.parse(WorkloadSpecs.decode(input, FILE), FILE);
        } catch (SpecException e) {
            assertThat(e.getMessage()).startsWith(FILE.toString());
            return;
        }
        try {
            ResolvedReplica replica = Deployments.resolve(spec, PROFILES);
            assertThat(replica).isNotNull();
        } catch (SpecException | ProfileException | InsufficientGpuMemoryException e) {
            assertThat(e.getMessage()).isNotBlank();
        } catch (NoSuchFileException e) {
            assertThat(spec.perfModel().calibration()).isNotNull();
        }
    }
}
