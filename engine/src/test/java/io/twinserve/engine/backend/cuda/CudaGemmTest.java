package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prefill through cuBLAS (issue 21): a step of more than the GEMV's 8 tokens converts each linear layer's input to
 * bf16 and multiplies by cuBLAS ({@link Gpu#gemmBf16}, here its reference), as the GPU check's {@code cublasGemmEx}
 * case measures on a device. The model cases of {@link CudaModelCheck} against the CPU backend: the bf16 inputs
 * move the logits by bf16 rounding (5e-3 of the largest at worst; the device gate is 2e-2, a wrong offset gives 0.39),
 * and the prefill steps took cuBLAS while the decode steps (2 tokens) kept the GEMV.
 */
class CudaGemmTest {
    private static final double GATE = 1e-2;

    @Test
    void prefillStepsGoThroughCublasAndMatchTheCpuBackend(@TempDir Path dir) throws Exception {
        List<EmulatedGpu> devices = new ArrayList<>();
        List<CudaModelCheck.Result> results = CudaModelCheck.run(dir, () -> {
            EmulatedGpu g = new EmulatedGpu(true);
            devices.add(g);
            return g;
        });
        assertThat(results).hasSize(5 * 3 * 2);
        double worst = 0;
        for (CudaModelCheck.Result r : results) {
            assertThat(r.nan()).as(r.toString()).isFalse();
            assertThat(r.relativeError()).as(r.toString()).isLessThanOrEqualTo(GATE);
            worst = Math.max(worst, r.relativeError());
        }
        // bf16 inputs do change the prefill's logits: the GEMM path was taken
        assertThat(worst).isGreaterThan(1e-5);
        for (EmulatedGpu g : devices) {
            assertThat(g.gemms).isGreaterThan(0);
            assertThat(g.launches).contains("ts_to_bf16", "ts_gemv_bf16");
        }
        assertBiasAddedOnlyForQwen2(devices);
    }

    /**
     * Qwen2's q/k/v biases no longer keep its prefill on the GEMV: its devices (two per model, in {@link
     * io.twinserve.engine.model.Architecture} order, so the third model's) add them after the GEMM; no other model
     * has a bias to add.
     */
    private static void assertBiasAddedOnlyForQwen2(List<EmulatedGpu> devices) {
        int qwen2 = io.twinserve.engine.model.Architecture.QWEN2.ordinal();
        for (int i = 0; i < devices.size(); i++) {
            if (i / 2 == qwen2) {
                assertThat(devices.get(i).launches).as("device %d", i).contains("ts_add_bias_rows");
            } else {
                assertThat(devices.get(i).launches).as("device %d", i).doesNotContain("ts_add_bias_rows");
            }
        }
    }

    /**
     * Where cuBLAS is not found, the same switch takes the backend's own tensor-core GEMM ({@code ts_gemm_bf16}, here
     * its reference): the same bf16 rounding of the inputs against the CPU backend, no cuBLAS call, and decode graphs
     * of more than 8 sequences capture it rather than the GEMV.
     */
    @Test
    void withoutCublasPrefillStepsAndLargeDecodeGraphsTakeTheOwnTensorCoreGemm(@TempDir Path dir) throws Exception {
        List<EmulatedGpu> devices = new ArrayList<>();
        List<CudaModelCheck.Result> results = CudaModelCheck.run(
                dir,
                () -> {
                    EmulatedGpu g = new EmulatedGpu(false, true, true);
                    devices.add(g);
                    return g;
                },
                0,
                false);
        assertThat(results).hasSize(5 * 3 * 2);
        double worst = 0;
        for (CudaModelCheck.Result r : results) {
            assertThat(r.nan()).as(r.toString()).isFalse();
            assertThat(r.relativeError()).as(r.toString()).isLessThanOrEqualTo(GATE);
            worst = Math.max(worst, r.relativeError());
        }
        assertThat(worst).isGreaterThan(1e-5);
        for (EmulatedGpu g : devices) {
            assertThat(g.gemms).isZero();
            assertThat(g.launches).contains("ts_to_bf16", "ts_gemm_bf16", "ts_gemv_bf16");
        }
        assertBiasAddedOnlyForQwen2(devices);
    }

    @Test
    void theSwitchIsOffUnlessOneAndRefusesAnythingElse() {
        assertThat(DriverGpu.cublasWanted(null)).isFalse();
        assertThat(DriverGpu.cublasWanted("0")).isFalse();
        assertThat(DriverGpu.cublasWanted(" 1 ")).isTrue();
        assertThatThrownBy(() -> DriverGpu.cublasWanted("yes"))
                .hasMessage("TWINSERVE_CUDA_CUBLAS=yes: expected 1 (prefill through cuBLAS) or 0 (off)");
    }
}
