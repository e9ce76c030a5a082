package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The driver layer where there is no GPU: one clear line instead of JCuda's page of nested stack traces. */
class CudaDriverTest {
    static final String NO_DRIVER = "CUDA unavailable: libcuda.so.1 not found (no NVIDIA driver on this machine, or"
            + " not on the loader path); use --backend cpu";

    @Test
    void withoutADriverOpeningADeviceIsOneLineNamingLibcuda() {
        Assumptions.assumeTrue(
                !CudaDriver.driverLibraryFound(),
                "an NVIDIA driver (libcuda.so.1) is installed here: the no-driver error is not seen");
        assertThatThrownBy(() -> CudaDriver.open(0))
                .isInstanceOf(CudaUnavailableException.class)
                .hasMessage(NO_DRIVER);
        assertThatThrownBy(CudaDriver::deviceCount).hasMessage(NO_DRIVER);
        assertThat(CudaDriver.available()).isFalse();
    }

    @Test
    void aLibraryThatFailsForAnotherReasonIsNamedByItsFirstLine() {
        UnsatisfiedLinkError missing = new UnsatisfiedLinkError(
                "Error while loading native library \"JCudaDriver\"\n...\n/tmp/libJCudaDriver.so: libcuda.so.1: cannot"
                        + " open shared object file: No such file or directory\n...");
        assertThat(CudaDriver.unavailable(missing).getMessage()).isEqualTo(NO_DRIVER);
        UnsatisfiedLinkError other = new UnsatisfiedLinkError("no JCudaDriver in java.library.path\nmore lines");
        assertThat(CudaDriver.unavailable(other).getMessage())
                .isEqualTo(
                        "CUDA unavailable: JCuda's driver library did not load (no JCudaDriver in java.library.path)");
    }
}
