package io.twinserve.engine.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * {@code cuLaunchKernel} called through the FFM API with a parameter block built once and refilled in place:
 * JCuda's launch marshals every parameter anew (1.3-2 µs each, ../shared/CUDA.md), this costs tens of
 * nanoseconds, which matters at ~300 launches per decode step. Written by hand because no library binds the
 * driver API through FFM.
 */
public final class FfmLauncher {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final FunctionDescriptor LAUNCH = FunctionDescriptor.of(
            ValueLayout.JAVA_INT, // CUresult
            ValueLayout.ADDRESS, // CUfunction
            ValueLayout.JAVA_INT, // gridDimX
            ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, // blockDimX
            ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, // sharedMemBytes
            ValueLayout.ADDRESS, // hStream
            ValueLayout.ADDRESS, // kernelParams (void**)
            ValueLayout.ADDRESS); // extra

    private final MethodHandle launch;

    /** Binds {@code cuLaunchKernel} from {@code lookup} (the driver library, or a test's stand-in). */
    public FfmLauncher(SymbolLookup lookup) {
        MemorySegment symbol = lookup.find("cuLaunchKernel")
                .orElseThrow(() -> new CudaUnavailableException("CUDA: the driver library has no cuLaunchKernel"));
        this.launch = LINKER.downcallHandle(symbol, LAUNCH);
    }

    /** The driver's {@code libcuda.so.1}, for the lifetime of the JVM. */
    public static FfmLauncher driver() {
        return new FfmLauncher(SymbolLookup.libraryLookup("libcuda.so.1", Arena.global()));
    }

    /**
     * A kernel's parameters: {@code count} 8-byte slots and the array of pointers to them that {@code
     * cuLaunchKernel} reads; set the slots, launch, set again.
     */
    public static final class Params {
        private final MemorySegment values;
        private final MemorySegment pointers;

        public Params(Arena arena, int count) {
            values = arena.allocate(8L * Math.max(1, count), 8);
            pointers = arena.allocate(ValueLayout.ADDRESS, Math.max(1, count));
            for (int i = 0; i < count; i++) {
                pointers.setAtIndex(ValueLayout.ADDRESS, i, values.asSlice(8L * i, 8));
            }
        }

        /** A device pointer (or any 64-bit handle). */
        public Params pointer(int i, long devicePointer) {
            values.set(ValueLayout.JAVA_LONG, 8L * i, devicePointer);
            return this;
        }

        public Params i32(int i, int v) {
            values.set(ValueLayout.JAVA_INT, 8L * i, v);
            return this;
        }

        public Params i64(int i, long v) {
            values.set(ValueLayout.JAVA_LONG, 8L * i, v);
            return this;
        }

        public Params f32(int i, float v) {
            values.set(ValueLayout.JAVA_FLOAT, 8L * i, v);
            return this;
        }

        MemorySegment block() {
            return pointers;
        }
    }

    /** Launches {@code function} (a raw {@code CUfunction}) on {@code stream} (0: the default stream). */
    public void launch(
            long function, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, long stream, Params p) {
        int result;
        try {
            result = (int) launch.invokeExact(
                    MemorySegment.ofAddress(function),
                    gx,
                    gy,
                    gz,
                    bx,
                    by,
                    bz,
                    sharedBytes,
                    MemorySegment.ofAddress(stream),
                    p.block(),
                    MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException("cuLaunchKernel could not be called", t);
        }
        if (result != 0) {
            throw new CudaUnavailableException("CUDA: cuLaunchKernel failed: " + CudaErrors.name(result));
        }
    }
}
