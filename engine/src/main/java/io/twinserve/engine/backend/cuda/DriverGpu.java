package io.twinserve.engine.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * The device through the driver: memory and copies by JCuda (the cold path; JCuda's exceptions are on, so every
 * failed call throws naming its error), launches by {@link FfmLauncher} with one reused parameter block per kernel
 * (the hot path). Bulk uploads go from pinned host memory on a copy stream of their own, which the kernels, on the
 * legacy default stream, wait for through events. Not run yet on a GPU (issue 20; docs/engine.md).
 *
 * <p>Over 400 lines because it is the one place that orders work across the three streams (legacy, copy, graph)
 * and binds the context per thread: memory, copies, launches, cuBLAS, capture and replay each need both, and
 * splitting them would spread the ordering rules over several classes. Its close is best effort, release by
 * release.
 */
public final class DriverGpu implements Gpu {
    private final CudaDriver driver;
    private final FfmLauncher launcher = FfmLauncher.driver();
    private final Arena arena = Arena.ofShared();
    private final Map<String, FfmLauncher.Params> params = new HashMap<>();
    private final List<Ptr> allocations = new ArrayList<>();
    private final List<Pointer> pinned = new ArrayList<>();
    /** Copies in flight on the copy stream, by ticket, with the event each recorded. */
    private final TreeMap<Long, CUevent> copies = new TreeMap<>();

    /** Stream 0, the legacy default stream the kernels are launched on. */
    private static final CUstream LEGACY_STREAM = new CUstream();

    private CUstream copyStream;
    /** Marks the legacy stream's work so far for the copy stream to wait on. */
    private CUevent legacyMark;

    private long lastTicket;
    /**
     * The stream graphs are captured and run on (the legacy stream itself cannot be captured): non-blocking, so that
     * nothing on the legacy stream depends on a capture under way; a replay waits for the legacy stream's work
     * (and the copy-stream uploads it waits for) through {@link #ordering}. Null until a graph is captured.
     */
    private Stream graphStream;

    private CUevent ordering;
    /** Recorded after each replay on the graph stream, for the legacy stream to wait on. */
    private CUevent replayed;
    /** The stream the next launch goes to: 0 (legacy), or the graph stream while capturing. */
    private long launchStream;

    private final List<CUgraphExec> graphs = new ArrayList<>();

    /** cuBLAS with its workspace, opened on first ask; null when it is not on this machine. */
    private Cublas cublas;

    private boolean cublasTried;
    private long cublasWorkspace;
    /** The stream cuBLAS is bound to (-1: none yet). */
    private long cublasStream = -1;

    /** A stream whose handle can be read (JCuda keeps its getter protected). */
    private static final class Stream extends CUstream {
        long address() {
            return getNativePointer();
        }
    }

    /** A device pointer whose address can be read (JCuda keeps its getter protected). */
    private static final class Ptr extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    private final boolean ownsDriver;

    /** @param ownsDriver whether closing this device closes the driver's context and module too */
    public DriverGpu(CudaDriver driver, boolean ownsDriver) {
        this(driver, ownsDriver, cublasWanted(System.getenv(CUBLAS_ENV)));
    }

    /** {@link #CUBLAS_ENV}'s value: unset or 0 is off, 1 on; anything else is refused, naming the variable. */
    static boolean cublasWanted(String value) {
        if (value == null || value.isBlank() || value.strip().equals("0")) {
            return false;
        }
        if (value.strip().equals("1")) {
            return true;
        }
        throw new IllegalArgumentException(
                CUBLAS_ENV + "=" + value + ": expected 1 (prefill through cuBLAS) or 0 (off)");
    }

    /** @param cublas whether prefill steps may run their linear layers through cuBLAS (where it is found) */
    public DriverGpu(CudaDriver driver, boolean ownsDriver, boolean cublas) {
        this.driver = driver;
        this.ownsDriver = ownsDriver;
        this.cublasWanted = cublas;
    }

    @Override
    public long alloc(long bytes) {
        driver.bind();
        Ptr p = new Ptr();
        JCudaDriver.cuMemAlloc(p, Math.max(1, bytes));
        JCudaDriver.cuMemsetD8(p, (byte) 0, Math.max(1, bytes));
        allocations.add(p);
        return p.address();
    }

    @Override
    public void free(long address) {
        driver.bind();
        for (int i = allocations.size() - 1; i >= 0; i--) {
            if (allocations.get(i).address() == address) {
                JCudaDriver.cuMemFree(allocations.remove(i));
                return;
            }
        }
        throw new IllegalArgumentException("device address " + Long.toHexString(address) + " was not allocated here");
    }

    private static CUdeviceptr at(long address) {
        return new CUdeviceptr().withByteOffset(address);
    }

    @Override
    public void copyIn(long dst, short[] src, int from, int count) {
        driver.bind();
        JCudaDriver.cuMemcpyHtoD(
                at(dst), Pointer.to(src).withByteOffset((long) from * Sizeof.SHORT), (long) count * Sizeof.SHORT);
    }

    @Override
    public void copyIn(long dst, float[] src, int from, int count) {
        driver.bind();
        JCudaDriver.cuMemcpyHtoD(
                at(dst), Pointer.to(src).withByteOffset((long) from * Sizeof.FLOAT), (long) count * Sizeof.FLOAT);
    }

    @Override
    public void copyIn(long dst, int[] src, int from, int count) {
        driver.bind();
        JCudaDriver.cuMemcpyHtoD(
                at(dst), Pointer.to(src).withByteOffset((long) from * Sizeof.INT), (long) count * Sizeof.INT);
    }

    @Override
    public void copyOut(float[] dst, int to, long src, int count) {
        driver.bind();
        JCudaDriver.cuMemcpyDtoH(
                Pointer.to(dst).withByteOffset((long) to * Sizeof.FLOAT), at(src), (long) count * Sizeof.FLOAT);
    }

    @Override
    public void copyOut(MemorySegment dst, long src, long bytes) {
        driver.bind();
        JCudaDriver.cuMemcpyDtoH(Pointer.to(dst.asSlice(0, bytes).asByteBuffer()), at(src), bytes);
    }

    @Override
    public MemorySegment pinned(long bytes) {
        driver.bind();
        Pointer host = new Pointer();
        JCudaDriver.cuMemAllocHost(host, Math.max(1, bytes));
        pinned.add(host);
        return MemorySegment.ofBuffer(host.getByteBuffer(0, Math.max(1, bytes)));
    }

    @Override
    public long copyInAsync(long dst, MemorySegment src, long srcOffset, long bytes) {
        driver.bind();
        if (copyStream == null) {
            copyStream = new CUstream();
            JCudaDriver.cuStreamCreate(copyStream, CUstream_flags.CU_STREAM_NON_BLOCKING);
            legacyMark = new CUevent();
            JCudaDriver.cuEventCreate(legacyMark, CUevent_flags.CU_EVENT_DISABLE_TIMING);
        }
        // after what the legacy stream was given before: the zeroing of a fresh allocation, and kernels still reading
        // the destination (a non-blocking stream does not wait for the legacy stream by itself)
        JCudaDriver.cuEventRecord(legacyMark, LEGACY_STREAM);
        JCudaDriver.cuStreamWaitEvent(copyStream, legacyMark, 0);
        JCudaDriver.cuMemcpyHtoDAsync(
                at(dst), Pointer.to(src.asSlice(srcOffset, bytes).asByteBuffer()), bytes, copyStream);
        CUevent done = new CUevent();
        JCudaDriver.cuEventCreate(done, CUevent_flags.CU_EVENT_DISABLE_TIMING);
        JCudaDriver.cuEventRecord(done, copyStream);
        // kernels run on the legacy default stream: from here on they wait for this copy, the host does not
        JCudaDriver.cuStreamWaitEvent(LEGACY_STREAM, done, 0);
        long ticket = ++lastTicket;
        copies.put(ticket, done);
        return ticket;
    }

    @Override
    public void awaitCopy(long ticket) {
        driver.bind();
        var done = copies.headMap(ticket, true);
        CUevent last = done.isEmpty() ? null : done.lastEntry().getValue();
        if (last != null) {
            // copies on one stream complete in order: the last event covers every earlier one
            JCudaDriver.cuEventSynchronize(last);
        }
        for (CUevent e : done.values()) {
            JCudaDriver.cuEventDestroy(e);
        }
        done.clear();
    }

    @Override
    public void launchGrid3(String name, int gx, int gy, int gz, int bx, Arg... args) {
        driver.bind();
        FfmLauncher.Params p = params.computeIfAbsent(name, n -> new FfmLauncher.Params(arena, 24));
        for (int i = 0; i < args.length; i++) {
            Arg a = args[i];
            switch (a.kind()) {
                case 'p', 'l' -> p.i64(i, a.bits());
                case 'i' -> p.i32(i, a.asInt());
                case 'f' -> p.f32(i, a.asFloat());
                default -> throw new IllegalArgumentException("argument " + i + " of " + name + ": " + a);
            }
        }
        launcher.launch(driver.functionHandle(name), gx, gy, gz, bx, 1, 1, 0, launchStream, p);
    }

    /**
     * Set to 1 to run prefill steps' linear layers on tensor cores with bf16 inputs (issue 21): through cuBLAS where
     * {@code libcublas.so.13} is found, else the backend's own {@code ts_gemm_bf16}. Off by default until the GPU check
     * has passed with it, since bf16 inputs move the logits by more than the float32 comparison with transformers
     * allows.
     */
    public static final String CUBLAS_ENV = "TWINSERVE_CUDA_CUBLAS";

    private final boolean cublasWanted;

    /** As {@link #CUBLAS_ENV} says: cuBLAS where it is found, the backend's own tensor-core GEMM where not. */
    @Override
    public boolean tensorCoreLinear() {
        return cublasWanted;
    }

    @Override
    public boolean hasGemm() {
        driver.bind();
        if (!cublasTried) {
            cublasTried = true;
            if (!cublasWanted) {
                return false;
            }
            try {
                cublas = Cublas.open(CudaLibraries.system());
                cublasWorkspace = alloc(CudaMemoryPlan.CUBLAS_WORKSPACE_BYTES);
            } catch (CudaUnavailableException | IllegalArgumentException e) {
                // not found, or found and not loadable (dlopen refuses it: libcublasLt.so.13 missing beside it, say):
                // the backend's own tensor-core GEMM takes its place
                System.getLogger(DriverGpu.class.getName())
                        .log(
                                System.Logger.Level.WARNING,
                                "CUDA: cuBLAS 13 not usable ({0}); linear layers on tensor cores use the backend's own"
                                        + " GEMM",
                                e.getMessage());
                if (cublas != null) {
                    cublas.close();
                }
                cublas = null;
            }
        }
        return cublas != null;
    }

    @Override
    public void gemmBf16(int tokens, int out, int in, long w, long x, long y) {
        driver.bind();
        if (!hasGemm()) {
            throw new IllegalStateException("cuBLAS 13 is not available here; use the GEMV kernel");
        }
        if (cublasStream != launchStream) {
            cublas.bind(launchStream, cublasWorkspace, CudaMemoryPlan.CUBLAS_WORKSPACE_BYTES);
            cublasStream = launchStream;
        }
        cublas.linear(tokens, out, in, w, x, y);
    }

    @Override
    public long capture(Runnable body) {
        driver.bind();
        if (graphStream == null) {
            graphStream = new Stream();
            JCudaDriver.cuStreamCreate(graphStream, CUstream_flags.CU_STREAM_NON_BLOCKING);
            ordering = new CUevent();
            JCudaDriver.cuEventCreate(ordering, CUevent_flags.CU_EVENT_DISABLE_TIMING);
            replayed = new CUevent();
            JCudaDriver.cuEventCreate(replayed, CUevent_flags.CU_EVENT_DISABLE_TIMING);
        }
        CUgraph graph = new CUgraph();
        // relaxed: other threads' driver calls (a copy-stream upload, say) are not this capture's concern
        JCudaDriver.cuStreamBeginCapture(graphStream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED);
        launchStream = graphStream.address();
        RuntimeException failure = null;
        try {
            body.run();
        } catch (RuntimeException e) {
            failure = e;
        }
        launchStream = 0;
        try {
            JCudaDriver.cuStreamEndCapture(graphStream, graph);
        } catch (RuntimeException e) {
            // an invalidated capture (what failed in the body, usually): the body's error is the one to report
            if (failure != null) {
                failure.addSuppressed(e);
                throw failure;
            }
            throw e;
        }
        if (failure != null) {
            JCudaDriver.cuGraphDestroy(graph);
            throw failure;
        }
        CUgraphExec exec = new CUgraphExec();
        JCudaDriver.cuGraphInstantiate(exec, graph, 0);
        JCudaDriver.cuGraphDestroy(graph);
        graphs.add(exec);
        return graphs.size() - 1;
    }

    @Override
    public void replay(long graph) {
        driver.bind();
        // after everything the legacy stream was given (kernels, and the uploads it waits for)
        JCudaDriver.cuEventRecord(ordering, LEGACY_STREAM);
        JCudaDriver.cuStreamWaitEvent(graphStream, ordering, 0);
        JCudaDriver.cuGraphLaunch(graphs.get(Math.toIntExact(graph)), graphStream);
        // and what follows on the legacy stream (copies back, kernels, the next step's uploads) after the graph: the
        // graph stream is non-blocking, so nothing orders them otherwise
        JCudaDriver.cuEventRecord(replayed, graphStream);
        JCudaDriver.cuStreamWaitEvent(LEGACY_STREAM, replayed, 0);
    }

    @Override
    public void synchronize() {
        driver.bind();
        JCudaDriver.cuCtxSynchronize();
    }

    @Override
    public String describe() {
        return driver.info().describe();
    }

    @Override
    public String name() {
        return driver.info().name();
    }

    @Override
    public long memoryBytes() {
        return driver.info().totalMemoryBytes();
    }

    @Override
    /**
     * Frees everything, best effort: after a sticky device error (an illegal address, say) every driver call fails,
     * and each release is still tried, the context released last, and the first error thrown with the others
     * suppressed. A second close does nothing.
     */
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<RuntimeException> errors = new ArrayList<>();
        attempt(errors, driver::bind);
        if (cublas != null) {
            Cublas c = cublas;
            cublas = null;
            attempt(errors, c::close);
        }
        if (!copies.isEmpty()) {
            attempt(errors, () -> awaitCopy(lastTicket));
        }
        for (Ptr p : allocations) {
            attempt(errors, () -> JCudaDriver.cuMemFree(p));
        }
        allocations.clear();
        for (Pointer p : pinned) {
            attempt(errors, () -> JCudaDriver.cuMemFreeHost(p));
        }
        pinned.clear();
        if (copyStream != null) {
            CUstream s = copyStream;
            copyStream = null;
            attempt(errors, () -> JCudaDriver.cuStreamDestroy(s));
            attempt(errors, () -> JCudaDriver.cuEventDestroy(legacyMark));
        }
        for (CUgraphExec g : graphs) {
            attempt(errors, () -> JCudaDriver.cuGraphExecDestroy(g));
        }
        graphs.clear();
        if (graphStream != null) {
            CUstream s = graphStream;
            graphStream = null;
            attempt(errors, () -> JCudaDriver.cuStreamDestroy(s));
            attempt(errors, () -> JCudaDriver.cuEventDestroy(ordering));
            attempt(errors, () -> JCudaDriver.cuEventDestroy(replayed));
        }
        attempt(errors, arena::close);
        if (ownsDriver) {
            attempt(errors, driver::close);
        }
        if (!errors.isEmpty()) {
            RuntimeException first = errors.getFirst();
            for (int i = 1; i < errors.size(); i++) {
                first.addSuppressed(errors.get(i));
            }
            throw first;
        }
    }

    private boolean closed;

    private static void attempt(List<RuntimeException> errors, Runnable release) {
        try {
            release.run();
        } catch (RuntimeException e) {
            errors.add(e);
        }
    }
}
