package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The FFM cuBLAS binding against a recording stand-in built with gcc: a linear layer's GEMM reaches
 * {@code cublasGemmEx} with the transposes, leading dimensions, types and scalars that compute
 * {@code y = x W^T} over row-major bf16 weights, and a failed status is named by cuBLAS's own string.
 */
class CublasTest {

    @Test
    void aLinearLayerIsTheGemmWorkedOutByHand(@TempDir Path dir) throws Throwable {
        Path stub = FfmLauncherTest.compile(dir, "cublas_stub");
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup lookup = SymbolLookup.libraryLookup(stub, arena);
            MethodHandle recorded = Linker.nativeLinker()
                    .downcallHandle(
                            lookup.find("stub_recorded").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            try (Cublas cublas = new Cublas(lookup)) {
                cublas.bind(0x55, 0x9000, 32L << 20);
                // 5 tokens through a 4096 -> 1024 layer: W at 0x1000, x at 0x2000, y at 0x3000
                cublas.linear(5, 1024, 4096, 0x1000, 0x2000, 0x3000);
                long[] got = new long[19];
                for (int i = 0; i < got.length; i++) {
                    got[i] = (long) recorded.invokeExact(i);
                }
                assertThat(got)
                        .containsExactly(
                                1, // our handle
                                Cublas.OP_T, // W [out][in] row-major is an in x out column-major matrix: transposed
                                Cublas.OP_N, // x [tokens][in] row-major is in x tokens column-major
                                1024, // m = out
                                5, // n = tokens
                                4096, // k = in
                                1000, // alpha 1
                                0x1000,
                                Cublas.R_16BF,
                                4096, // lda
                                0x2000,
                                Cublas.R_16BF,
                                4096, // ldb
                                0, // beta 0
                                0x3000,
                                Cublas.R_32F,
                                1024, // ldc: y [tokens][out] row-major is out x tokens column-major
                                Cublas.COMPUTE_32F,
                                Cublas.GEMM_DEFAULT);
                assertThat((long) recorded.invokeExact(20)).isEqualTo(0x55);
                assertThat((long) recorded.invokeExact(21)).isEqualTo(0x9000);
                assertThat((long) recorded.invokeExact(22)).isEqualTo(32L << 20);
                assertThatThrownBy(() -> cublas.linear(1, 999, 8, 1, 2, 3))
                        .isInstanceOf(CudaUnavailableException.class)
                        .hasMessage("cuBLAS: cublasGemmEx failed: CUBLAS_STATUS_INVALID_VALUE (7)");
            }
        }
    }
}
