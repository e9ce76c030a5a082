package io.twinserve.engine.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * What {@link CudaBackend} needs of a device: memory, copies and kernel launches by name. The real one is the
 * driver ({@link DriverGpu}); tests use an emulation that runs each kernel's Java reference on host memory, so
 * that the backend's orchestration (layout, metadata, the order of kernels and their arguments) is checked
 * against the CPU backend without a GPU.
 */
public interface Gpu extends AutoCloseable {

    /** A kernel argument: a device pointer, a 32- or 64-bit integer, or a float. */
    record Arg(char kind, long bits) {
        public static final Arg NULL = new Arg('p', 0);

        public static Arg ptr(long p) {
            return new Arg('p', p);
        }

        public static Arg i32(int v) {
            return new Arg('i', v);
        }

        public static Arg i64(long v) {
            return new Arg('l', v);
        }

        public static Arg f32(float v) {
            return new Arg('f', Float.floatToRawIntBits(v));
        }

        public int asInt() {
            return (int) bits;
        }

        public float asFloat() {
            return Float.intBitsToFloat((int) bits);
        }
    }

    /** Device memory of {@code bytes}, zeroed; freed when the device is closed, or by {@link #free}. */
    long alloc(long bytes);

    /** Frees {@code address} of {@link #alloc} now (no work on the device may still use it). */
    void free(long address);

    void copyIn(long dst, short[] src, int from, int count);

    void copyIn(long dst, float[] src, int from, int count);

    void copyIn(long dst, int[] src, int from, int count);

    void copyOut(float[] dst, int to, long src, int count);

    /**
     * Copies {@code bytes} of device memory {@code src} into host memory {@code dst}, waiting for the device first
     * (as the array copy does). From {@link #pinned} memory the copy runs by DMA at the bus's full rate; from a Java
     * array the driver stages it through a pinned buffer of its own, at a fraction of that.
     */
    void copyOut(MemorySegment dst, long src, long bytes);

    /**
     * Page-locked host memory of {@code bytes}, which the device copies from by DMA at the bus's full rate and
     * asynchronously; freed when the device is closed.
     */
    MemorySegment pinned(long bytes);

    /**
     * Starts copying {@code bytes} of pinned memory {@code src} (from {@code srcOffset}) to {@code dst} on the copy
     * stream and returns at once with the copy's ticket. Launches made after this wait for it on the device (the
     * compute stream waits on the copy's event); the host does not. {@code src} must not be written again until
     * {@link #awaitCopy} of the ticket has returned.
     */
    long copyInAsync(long dst, MemorySegment src, long srcOffset, long bytes);

    /** Blocks the host until the copy of {@code ticket} (and every one started before it) is done. */
    void awaitCopy(long ticket);

    /** Launches kernel {@code name} on a grid of {@code gx x gy} blocks of {@code bx} threads. */
    default void launch(String name, int gx, int gy, int bx, Arg... args) {
        launchGrid3(name, gx, gy, 1, bx, args);
    }

    /** Launches kernel {@code name} on a grid of {@code gx x gy x gz} blocks of {@code bx} threads. */
    void launchGrid3(String name, int gx, int gy, int gz, int bx, Arg... args);

    /** Whether {@link #gemmBf16} can run here (cuBLAS 13 found); without it every linear layer is a GEMV. */
    boolean hasGemm();

    /**
     * Whether linear layers of more than 8 tokens run on tensor cores with bf16 inputs: through cuBLAS where {@link
     * #hasGemm()}, else the backend's own {@code ts_gemm_bf16}. False keeps them on the GEMV kernel (fp32 inputs).
     */
    default boolean tensorCoreLinear() {
        return hasGemm();
    }

    /**
     * {@code y[t][n] = x[t] . w[n]} by cuBLAS ({@link Cublas#linear}): {@code w} bf16 [out][in] as stored, {@code x}
     * bf16 [tokens][in], {@code y} fp32 [tokens][out], fp32 accumulation; on the stream the kernels run on, after
     * them.
     */
    void gemmBf16(int tokens, int out, int in, long w, long x, long y);

    /**
     * Records the launches {@code body} makes into a graph instead of running them (CUDA stream capture): each
     * launch's grid and arguments, pointers and scalars alike, are fixed as they were then, and device memory is
     * read when the graph runs. {@code body} must not copy. Returns the graph's handle for {@link #replay}.
     */
    long capture(Runnable body);

    /**
     * Runs graph {@code graph} of {@link #capture}, after the work launched and copied before it and before the work
     * launched and copied after it (a copy back of what the graph wrote sees it).
     */
    void replay(long graph);

    /** Waits for the launched work. */
    void synchronize();

    /** "NVIDIA H100 80GB HBM3 (sm_90, ...)" or what an emulation calls itself. */
    String describe();

    /** The device's name ("NVIDIA H100 80GB HBM3"). */
    String name();

    /** The device's memory in bytes. */
    long memoryBytes();

    @Override
    void close();
}
