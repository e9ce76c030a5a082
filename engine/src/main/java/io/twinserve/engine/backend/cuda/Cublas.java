package io.twinserve.engine.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * cuBLAS 13 through the FFM API: the handful of calls the backend needs (a handle on a stream with its workspace,
 * and {@code cublasGemmEx} for the prefill projections). JCuda's cuBLAS binding needs CUDA 12's library, which
 * the GPU machines do not have ({@code ../shared/CUDA.md}), and no other Java library binds cuBLAS 13; hence
 * these downcalls, written here. The library is found by {@link CudaLibraries}.
 */
public final class Cublas implements AutoCloseable {
    static final int OP_N = 0;
    static final int OP_T = 1;
    static final int R_32F = 0;
    static final int R_16BF = 14;
    static final int COMPUTE_32F = 68;
    static final int GEMM_DEFAULT = -1;
    static final int DEFAULT_MATH = 0;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG;
    private static final java.lang.foreign.AddressLayout P = ValueLayout.ADDRESS;

    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle setStream;
    private final MethodHandle setWorkspace;
    private final MethodHandle setMathMode;
    private final MethodHandle gemmEx;
    private final MethodHandle statusString;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle;
    private final MemorySegment one;
    private final MemorySegment zero;

    /** Opens cuBLAS from {@code lookup} (the library {@link CudaLibraries} found, or a test's stand-in). */
    public Cublas(SymbolLookup lookup) {
        create = bind(lookup, "cublasCreate_v2", FunctionDescriptor.of(I, P));
        destroy = bind(lookup, "cublasDestroy_v2", FunctionDescriptor.of(I, P));
        setStream = bind(lookup, "cublasSetStream_v2", FunctionDescriptor.of(I, P, P));
        setWorkspace = bind(lookup, "cublasSetWorkspace_v2", FunctionDescriptor.of(I, P, P, L));
        setMathMode = bind(lookup, "cublasSetMathMode", FunctionDescriptor.of(I, P, I));
        gemmEx = bind(
                lookup,
                "cublasGemmEx",
                FunctionDescriptor.of(I, P, I, I, I, I, I, P, P, I, I, P, I, I, P, P, I, I, I, I));
        statusString = bind(lookup, "cublasGetStatusString", FunctionDescriptor.of(P, I));
        MemorySegment out = arena.allocate(P);
        check("cublasCreate_v2", call(() -> (int) create.invokeExact(out)));
        handle = out.get(P, 0);
        one = arena.allocate(ValueLayout.JAVA_FLOAT);
        one.set(ValueLayout.JAVA_FLOAT, 0, 1f);
        zero = arena.allocate(ValueLayout.JAVA_FLOAT);
        check("cublasSetMathMode", call(() -> (int) setMathMode.invokeExact(handle, DEFAULT_MATH)));
    }

    /** cuBLAS 13 from the folders {@link CudaLibraries} searches. */
    public static Cublas open(CudaLibraries libraries) {
        Path lib = libraries.find("libcublas.so.13");
        return new Cublas(SymbolLookup.libraryLookup(lib, Arena.global()));
    }

    private static MethodHandle bind(SymbolLookup lookup, String name, FunctionDescriptor d) {
        MemorySegment symbol = lookup.find(name)
                .orElseThrow(
                        () -> new CudaUnavailableException("CUDA: cuBLAS has no " + name + "; cuBLAS 13 expected"));
        return LINKER.downcallHandle(symbol, d);
    }

    /** Runs cuBLAS's work on {@code stream} with {@code bytes} of workspace at {@code workspace} (device memory). */
    public void bind(long stream, long workspace, long bytes) {
        check("cublasSetStream_v2", call(() -> (int) setStream.invokeExact(handle, MemorySegment.ofAddress(stream))));
        check("cublasSetWorkspace_v2", call(() ->
                (int) setWorkspace.invokeExact(handle, MemorySegment.ofAddress(workspace), bytes)));
    }

    /**
     * {@code y[t][n] = x[t] . w[n]} for a linear layer: {@code w} is bf16 [out][in] row-major as stored, {@code x}
     * bf16 [tokens][in], {@code y} fp32 [tokens][out], fp32 accumulation. cuBLAS is column-major: there y is
     * out x tokens, W an in x out matrix taken transposed ({@code OP_T}) and x an in x tokens one.
     */
    public void linear(int tokens, int out, int in, long w, long x, long y) {
        check("cublasGemmEx", call(() -> (int) gemmEx.invokeExact(
                handle,
                OP_T,
                OP_N,
                out,
                tokens,
                in,
                one,
                MemorySegment.ofAddress(w),
                R_16BF,
                in,
                MemorySegment.ofAddress(x),
                R_16BF,
                in,
                zero,
                MemorySegment.ofAddress(y),
                R_32F,
                out,
                COMPUTE_32F,
                GEMM_DEFAULT)));
    }

    @Override
    public void close() {
        check("cublasDestroy_v2", call(() -> (int) destroy.invokeExact(handle)));
        arena.close();
    }

    @FunctionalInterface
    private interface Downcall {
        int run() throws Throwable;
    }

    private static int call(Downcall d) {
        try {
            return d.run();
        } catch (Throwable t) {
            throw new IllegalStateException("a cuBLAS call could not be made", t);
        }
    }

    private void check(String what, int status) {
        if (status != 0) {
            String name;
            try {
                MemorySegment s = (MemorySegment) statusString.invokeExact(status);
                name = s.reinterpret(256).getString(0);
            } catch (Throwable t) {
                name = "status " + status;
            }
            throw new CudaUnavailableException("cuBLAS: " + what + " failed: " + name + " (" + status + ")");
        }
    }
}
