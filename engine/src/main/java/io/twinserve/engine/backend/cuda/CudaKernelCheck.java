package io.twinserve.engine.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.twinserve.engine.model.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/**
 * The GPU check of the CUDA kernels, run by {@code scripts/gpu/cuda-check.sh} on a machine with an NVIDIA GPU:
 * the device's facts, its read and copy bandwidth ({@code ts_probe_read}, {@code ts_probe_copy}), and every
 * kernel on random inputs against its Java reference ({@link KernelReferences}), output buffers poisoned with NaN
 * first so that a value the kernel did not write fails. The gates are those of {@code ../shared/CUDA.md}: max
 * |gpu - reference| / max |reference| at most 1e-3 for fp32 results, 1e-2 for bf16 ones. Prints a table and,
 * with {@code --json FILE}, writes it as JSON. Exit code 0 when every kernel passes, 1 when one fails, 3 without
 * a usable GPU.
 *
 * <p>Why it is long: one case per kernel, each building its random inputs, launching with the kernel's own
 * argument list and comparing with its reference, plus the bandwidth, cuBLAS and model cases; it is the whole
 * GPU check in one program so that the device run is one command.
 *
 * <p>Launches go through JCuda's {@code cuLaunchKernel} (slow on the host, which does not matter here; the
 * backend's hot path uses FFM, see {@code ../shared/CUDA.md}).
 */
public final class CudaKernelCheck {
    static final double FP32_GATE = 1e-3;
    static final double BF16_GATE = 1e-2;
    static final double MODEL_GATE = 2e-2;

    private final CudaDriver driver;
    private final List<Map<String, Object>> results = new ArrayList<>();
    private final List<CUdeviceptr> allocations = new ArrayList<>();
    private final SplittableRandom random = new SplittableRandom(20);

    private CudaKernelCheck(CudaDriver driver) {
        this.driver = driver;
    }

    public static void main(String[] args) throws IOException {
        Path json = args.length == 2 && args[0].equals("--json") ? Path.of(args[1]) : null;
        CudaDriver driver;
        try {
            driver = CudaDriver.open(0);
        } catch (CudaUnavailableException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(3);
            return;
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        boolean ok = false;
        CudaKernelCheck c = new CudaKernelCheck(driver);
        // each part on its own: one that throws (a launch refused, a model case failing on the device) is a FAIL row,
        // and the parts after it and the JSON still come (after a sticky device error they fail too, saying so)
        try (driver) {
            System.out.println("device: " + driver.info().describe());
            doc.put("device", driver.info());
            c.guard("bandwidth", () -> doc.put("bandwidth_gb_s", c.bandwidth()));
            c.checkAll();
            c.guard("cublasGemmEx", () -> doc.put("cublas", c.checkCublas()));
            c.guard("ts_gemm_bf16 rate", () -> doc.put("tensor_core_gemm", c.checkTensorCoreGemm()));
            c.guard("models", () -> doc.put("models", c.checkModels()));
            ok = c.results.stream()
                    .allMatch(r -> Boolean.TRUE.equals(r.get("pass")) || Boolean.TRUE.equals(r.get("skipped")));
            c.guard("free", c::freeAll);
        } finally {
            doc.put("kernels", c.results);
            doc.put("all_pass", ok);
            if (json != null) {
                if (json.toAbsolutePath().getParent() != null) {
                    Files.createDirectories(json.toAbsolutePath().getParent());
                }
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), doc);
            }
        }
        System.exit(ok ? 0 : 1);
    }

    // ---- device memory ----

    /** A device pointer whose address can be read (JCuda keeps its getter protected), for the FFM calls. */
    private static final class DevicePtr extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    private DevicePtr alloc(long bytes) {
        DevicePtr p = new DevicePtr();
        JCudaDriver.cuMemAlloc(p, Math.max(1, bytes));
        allocations.add(p);
        return p;
    }

    private DevicePtr upload(float[] a) {
        DevicePtr p = alloc((long) a.length * Sizeof.FLOAT);
        JCudaDriver.cuMemcpyHtoD(p, Pointer.to(a), (long) a.length * Sizeof.FLOAT);
        return p;
    }

    private DevicePtr upload(short[] a) {
        DevicePtr p = alloc((long) a.length * Sizeof.SHORT);
        JCudaDriver.cuMemcpyHtoD(p, Pointer.to(a), (long) a.length * Sizeof.SHORT);
        return p;
    }

    private CUdeviceptr upload(int[] a) {
        CUdeviceptr p = alloc((long) a.length * Sizeof.INT);
        JCudaDriver.cuMemcpyHtoD(p, Pointer.to(a), (long) a.length * Sizeof.INT);
        return p;
    }

    /** A buffer of {@code bytes} filled with 0xFF bytes: NaN as fp32 and as bf16. */
    private DevicePtr poisoned(long bytes) {
        DevicePtr p = alloc(bytes);
        JCudaDriver.cuMemsetD8(p, (byte) 0xFF, bytes);
        return p;
    }

    private float[] floats(CUdeviceptr p, int n) {
        float[] out = new float[n];
        JCudaDriver.cuMemcpyDtoH(Pointer.to(out), p, (long) n * Sizeof.FLOAT);
        return out;
    }

    private short[] shorts(CUdeviceptr p, int n) {
        short[] out = new short[n];
        JCudaDriver.cuMemcpyDtoH(Pointer.to(out), p, (long) n * Sizeof.SHORT);
        return out;
    }

    private void freeAll() {
        for (CUdeviceptr p : allocations) {
            JCudaDriver.cuMemFree(p);
        }
        allocations.clear();
    }

    private static final CUdeviceptr NULL = new CUdeviceptr();

    /** Launches {@code name}; parameters are device pointers, Integer, Long or Float. */
    private void launch(String name, int gx, int gy, int bx, Object... params) {
        launch3(name, gx, gy, 1, bx, params);
    }

    /** {@link #launch} on a grid of {@code gx x gy x gz} blocks. */
    private void launch3(String name, int gx, int gy, int gz, int bx, Object... params) {
        launchNoSync(name, gx, gy, gz, bx, params);
        JCudaDriver.cuCtxSynchronize();
    }

    // ---- bandwidth ----

    private Map<String, Double> bandwidth() {
        long bytes = 1L << 30;
        long n4 = bytes / 16;
        CUdeviceptr a = alloc(bytes);
        CUdeviceptr b = alloc(bytes);
        JCudaDriver.cuMemsetD8(a, (byte) 1, bytes);
        CUdeviceptr sink = alloc(4L * 4096);
        int blocks = 132 * 16;
        double read = timeMs(() -> launchNoSync("ts_probe_read", blocks, 1, 256, a, n4, sink));
        double copy = timeMs(() -> launchNoSync("ts_probe_copy", blocks, 1, 256, a, b, n4));
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("read", bytes / read / 1e6);
        m.put("copy", 2.0 * bytes / copy / 1e6);
        System.out.printf(
                Locale.ROOT,
                "bandwidth: read %.0f GB/s, copy %.0f GB/s (1 GiB, median of 10)%n",
                m.get("read"),
                m.get("copy"));
        return m;
    }

    /** Launches {@code name} without waiting; parameters are device pointers, Integer, Long or Float. */
    private void launchNoSync(String name, int gx, int gy, int bx, Object... params) {
        launchNoSync(name, gx, gy, 1, bx, params);
    }

    private void launchNoSync(String name, int gx, int gy, int gz, int bx, Object... params) {
        NativePointerObject[] ps = new NativePointerObject[params.length];
        for (int i = 0; i < params.length; i++) {
            ps[i] = switch (params[i]) {
                case CUdeviceptr p -> Pointer.to(p);
                case Integer v -> Pointer.to(new int[] {v});
                case Long v -> Pointer.to(new long[] {v});
                case Float v -> Pointer.to(new float[] {v});
                default -> throw new IllegalArgumentException("parameter " + i + " of " + name + ": " + params[i]);
            };
        }
        JCudaDriver.cuLaunchKernel(driver.function(name), gx, gy, gz, bx, 1, 1, 0, null, Pointer.to(ps), null);
    }

    /** The median of 10 timed runs (after one warm-up), in milliseconds, by CUDA events. */
    private static double timeMs(Runnable r) {
        CUevent start = new CUevent();
        CUevent end = new CUevent();
        JCudaDriver.cuEventCreate(start, 0);
        JCudaDriver.cuEventCreate(end, 0);
        r.run();
        JCudaDriver.cuCtxSynchronize();
        double[] ms = new double[10];
        for (int i = 0; i < ms.length; i++) {
            JCudaDriver.cuEventRecord(start, null);
            r.run();
            JCudaDriver.cuEventRecord(end, null);
            JCudaDriver.cuEventSynchronize(end);
            float[] t = new float[1];
            JCudaDriver.cuEventElapsedTime(t, start, end);
            ms[i] = t[0];
        }
        java.util.Arrays.sort(ms);
        JCudaDriver.cuEventDestroy(start);
        JCudaDriver.cuEventDestroy(end);
        return ms[ms.length / 2];
    }

    // ---- the kernels against their references ----

    private float[] randomFloats(int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    private short[] randomBf16(int n, double scale) {
        short[] a = new short[n];
        for (int i = 0; i < n; i++) {
            a[i] = DType.toBf16((float) ((random.nextDouble() * 2 - 1) * scale));
        }
        return a;
    }

    /** A part of the check that may throw, as {@link #guard} runs it. */
    private interface Part {
        void run() throws Exception;
    }

    /** Runs {@code part}; when it throws, a FAIL row for {@code kernel} says what it threw, and the check goes on. */
    void guard(String kernel, Part part) {
        try {
            part.run();
        } catch (Exception e) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kernel", kernel);
            m.put("case", "threw " + e);
            m.put("pass", false);
            results.add(m);
            System.out.printf(Locale.ROOT, "%-22s threw %s  FAIL%n", kernel, e);
        }
    }

    /** A row for a part this machine cannot check (not a failure of the kernels), with the reason. */
    private void skip(String kernel, String why) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kernel", kernel);
        m.put("case", why);
        m.put("skipped", true);
        results.add(m);
        System.out.printf(Locale.ROOT, "%-22s %s  skipped%n", kernel, why);
    }

    private void record(String kernel, String kase, float[] gpu, float[] ref, double gate) {
        double maxDiff = 0;
        double maxRef = 0;
        boolean nan = false;
        for (int i = 0; i < ref.length; i++) {
            if (Float.isNaN(gpu[i])) {
                nan = true;
            }
            maxDiff = Math.max(maxDiff, Math.abs(gpu[i] - ref[i]));
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        double rel = maxRef == 0 ? maxDiff : maxDiff / maxRef;
        boolean pass = !nan && rel <= gate;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kernel", kernel);
        m.put("case", kase);
        m.put("relative_error", rel);
        m.put("gate", gate);
        m.put("nan", nan);
        m.put("pass", pass);
        results.add(m);
        System.out.printf(
                Locale.ROOT,
                "%-22s %-44s %10.2e  (gate %.0e)%s  %s%n",
                kernel,
                kase,
                rel,
                gate,
                nan ? " NaN" : "",
                pass ? "ok" : "FAIL");
    }

    private static float[] bf16ToFloat(short[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = DType.fromBf16(a[i]);
        }
        return f;
    }

    private void checkAll() {
        guard("checkEmbedAndNorms", this::checkEmbedAndNorms);
        guard("checkToBf16", this::checkToBf16);
        guard("checkAddBiasRows", this::checkAddBiasRows);
        for (int tokens : new int[] {1, 3, 8}) {
            guard("checkGemv", () -> checkGemv(tokens, 1000, 2048, true, true));
        }
        guard("checkGemv", () -> checkGemv(5, 333, 4096, false, false));
        // K not a multiple of 8: the one-value-at-a-time path
        guard("checkGemv", () -> checkGemv(3, 97, 1001, true, false));
        guard("checkGemvSplit", this::checkGemvSplit);
        for (int tokens : new int[] {1, 8}) {
            guard("checkGemvSilu", () -> checkGemvSilu(tokens, 1000, 2048));
        }
        // K not a multiple of 8: the one-value-at-a-time path
        guard("checkGemvSilu", () -> checkGemvSilu(3, 97, 1001));
        for (boolean kvF32 : new boolean[] {false, true}) {
            guard("checkRopeKv", () -> checkRopeKv(false, kvF32));
            guard("checkRopeKv", () -> checkRopeKv(true, kvF32));
            guard("checkAttention", () -> checkAttention(0, kvF32, 8, 2, 128));
            guard("checkAttention", () -> checkAttention(7, kvF32, 8, 2, 128));
        }
        // the other head sizes' paths (64: two values a lane; 96: any size) and a group of 7 (Qwen2.5-7B's 28 / 4)
        guard("checkAttention", () -> checkAttention(0, false, 14, 2, 64));
        guard("checkAttention", () -> checkAttention(5, false, 4, 2, 96));
        guard("checkAttention", () -> checkAttention(0, false, 28, 4, 128));
        for (boolean kvF32 : new boolean[] {false, true}) {
            guard("checkSplitAttention", () -> checkSplitAttention(0, kvF32, 32, 8, 128, 5));
        }
        guard("checkSplitAttention", () -> checkSplitAttention(100, false, 32, 8, 128, 3));
        guard("checkSplitAttention", () -> checkSplitAttention(0, false, 14, 2, 64, 7));
        guard("checkSplitAttention", () -> checkSplitAttention(0, false, 4, 2, 96, 4));
        guard("checkPrefillAttention", () -> checkPrefillAttention(8, 2));
        guard("checkPrefillAttention", () -> checkPrefillAttention(28, 4));
        guard("checkRandom", this::checkRandom);
        guard("checkLora", this::checkLora);
        guard("checkSampleRows", this::checkSampleRows);
    }

    /**
     * {@code ts_sample_rows} on Llama 3's vocabulary: greedy rows (one with a tie at the top, whose lower id must win)
     * exactly, and draws at temperatures 0.5 to 1.5 with and without min-p, top-k (1, 50, 1,000) and top-p (0.9,
     * 0.5) against the host sampler's rule (the reference), uniforms from 0 to a hair below 1: the token drawn must be
     * the reference's for the draw's uniform or for one 1e-6 away (the device sums 128k floats in another order).
     * Then three edge draws: a decode graph's padding row (-1: skipped, its token left as the poison, -1, it was), a
     * top-p of 0 (the best-ranked token alone) and a greedy row of NaN logits (token 0, as the host's argmax).
     */
    private void checkSampleRows() {
        int vocab = 128_256;
        int n = 16;
        float[] logits = randomFloats((n + 1) * vocab, 8);
        java.util.Arrays.fill(logits, n * vocab, (n + 1) * vocab, Float.NaN);
        int drawCount = n + 3;
        logits[5] = 40;
        logits[90_000] = 40;
        int[] rows = new int[drawCount];
        float[] temperature = new float[drawCount];
        float[] minP = new float[drawCount];
        int[] topK = new int[drawCount];
        float[] topP = new float[drawCount];
        double[] u = new double[drawCount];
        int[] draws = new int[drawCount * CudaKernels.DRAW_INTS];
        for (int i = 0; i < drawCount; i++) {
            rows[i] = i == n ? -1 : i == n + 2 ? n : (i * 5) % n;
            temperature[i] = i < 2 ? 0 : new float[] {0.5f, 1, 1.5f}[i % 3];
            minP[i] = i % 4 == 3 ? 0.05f : 0;
            topK[i] = i >= 8 ? new int[] {1, 50, 1000, 0}[i % 4] : 0;
            topP[i] = i >= 10 ? new float[] {0.9f, 0.5f, 1}[i % 3] : 1;
            if (i == n + 1) {
                topP[i] = 0;
            } else if (i == n + 2) {
                temperature[i] = 0;
            }
            u[i] = i == 2 ? 0 : i == 3 ? Math.nextDown(1.0) : random.nextDouble();
            long bits = Double.doubleToRawLongBits(u[i]);
            int b = i * CudaKernels.DRAW_INTS;
            draws[b] = rows[i];
            draws[b + 1] = Float.floatToRawIntBits(temperature[i]);
            draws[b + 2] = Float.floatToRawIntBits(minP[i]);
            draws[b + 3] = (int) (bits >>> 32);
            draws[b + 4] = (int) bits;
            draws[b + 5] = topK[i];
            draws[b + 6] = Float.floatToRawIntBits(topP[i]);
        }
        CUdeviceptr out = poisoned(4L * drawCount);
        launch("ts_sample_rows", drawCount, 1, CudaKernels.SAMPLE_THREADS, upload(logits), vocab, upload(draws), out);
        int[] got = new int[drawCount];
        JCudaDriver.cuMemcpyDtoH(Pointer.to(got), out, 4L * drawCount);
        int[] want = KernelReferences.sampleRows(logits, vocab, rows, temperature, minP, topK, topP, u);
        float[] gotF = new float[drawCount];
        float[] wantF = new float[drawCount];
        for (int i = 0; i < drawCount; i++) {
            gotF[i] = got[i];
            wantF[i] = want[i];
            if (got[i] != want[i] && temperature[i] > 0) {
                for (double du : new double[] {-1e-6, 1e-6}) {
                    double v = Math.min(Math.nextDown(1.0), Math.max(0, u[i] + du));
                    int near = KernelReferences.sampleRows(
                            logits,
                            vocab,
                            new int[] {rows[i]},
                            new float[] {temperature[i]},
                            new float[] {minP[i]},
                            new int[] {topK[i]},
                            new float[] {topP[i]},
                            new double[] {v})[0];
                    if (near == got[i]) {
                        wantF[i] = got[i];
                    }
                }
            }
        }
        record(
                "ts_sample_rows",
                "16 rows of 128,256: greedy (a tie), T, min-p, top-k, top-p; a padding row, top-p 0, a NaN row",
                gotF,
                wantF,
                0);
    }

    /** The GEMM the rates are timed on: a 2,048-token prefill through a 4096 x 4096 projection. */
    private static final int RATE_TOKENS = 2048;

    private static final int RATE_DIM = 4096;

    /** A GEMM of bf16 weights and inputs into fp32 outputs, on device buffers. */
    private interface Gemm {
        void run(DevicePtr w, DevicePtr x, DevicePtr y);
    }

    /** Times {@code gemm} on the rate's shape (inputs of 0x3c3c bf16) and records its ms and TFLOP/s in {@code m}. */
    private void gemmRate(Map<String, Object> m, String name, Gemm gemm) {
        DevicePtr bw = alloc(2L * RATE_DIM * RATE_DIM);
        DevicePtr bx = alloc(2L * RATE_TOKENS * RATE_DIM);
        DevicePtr by = alloc(4L * RATE_TOKENS * RATE_DIM);
        JCudaDriver.cuMemsetD8(bw, (byte) 0x3c, 2L * RATE_DIM * RATE_DIM);
        JCudaDriver.cuMemsetD8(bx, (byte) 0x3c, 2L * RATE_TOKENS * RATE_DIM);
        double ms = timeMs(() -> gemm.run(bw, bx, by));
        double tflops = 2.0 * RATE_TOKENS * RATE_DIM * RATE_DIM / (ms * 1e-3) / 1e12;
        System.out.printf(Locale.ROOT, "%s: bf16 GEMM 2048 x 4096 x 4096 in %.3f ms: %.0f TFLOP/s%n", name, ms, tflops);
        m.put("gemm_2048x4096x4096_ms", ms);
        m.put("gemm_tflops", tflops);
    }

    /**
     * {@code ts_gemm_bf16}, the backend's own tensor-core GEMM where cuBLAS is not found: against the reference on
     * shapes with edges (tokens, outputs and K not multiples of the 128 x 128 x 32 tile), and its bf16 rate on the
     * 2,048-token prefill through a 4096 x 4096 projection that cuBLAS is timed on.
     */
    private Map<String, Object> checkTensorCoreGemm() {
        Map<String, Object> m = new LinkedHashMap<>();
        int[][] shapes = {{300, 1000, 4096}, {9, 136, 72}, {2048, 256, 512}};
        for (int[] shape : shapes) {
            int t = shape[0];
            int n = shape[1];
            int k = shape[2];
            short[] w = randomBf16(n * k, 0.05);
            short[] x = randomBf16(t * k, 1);
            DevicePtr y = poisoned((long) t * n * 4);
            launch(
                    "ts_gemm_bf16",
                    (n + CudaKernels.GEMM_TILE - 1) / CudaKernels.GEMM_TILE,
                    (t + CudaKernels.GEMM_TILE - 1) / CudaKernels.GEMM_TILE,
                    CudaKernels.GEMM_THREADS,
                    upload(w),
                    upload(x),
                    y,
                    t,
                    n,
                    k);
            record(
                    "ts_gemm_bf16",
                    t + " tokens, " + n + " x " + k + ", bf16 in, fp32 out",
                    floats(y, t * n),
                    KernelReferences.gemv(w, n, k, bf16ToFloat(x), t, null, null),
                    FP32_GATE);
        }
        int gx = RATE_DIM / CudaKernels.GEMM_TILE;
        int gy = RATE_TOKENS / CudaKernels.GEMM_TILE;
        gemmRate(
                m,
                "ts_gemm_bf16",
                (w, x, y) -> launchNoSync(
                        "ts_gemm_bf16", gx, gy, CudaKernels.GEMM_THREADS, w, x, y, RATE_TOKENS, RATE_DIM, RATE_DIM));
        return m;
    }

    /**
     * cuBLAS 13 through FFM: a linear layer's GEMM against the reference, and the bf16 GEMM rate of a 2,048-token
     * prefill through a 4096 x 4096 projection (the ceiling of issue 21's prefill target).
     */
    private Map<String, Object> checkCublas() {
        Map<String, Object> m = new LinkedHashMap<>();
        Cublas cublas;
        try {
            cublas = Cublas.open(CudaLibraries.system());
        } catch (CudaUnavailableException | IllegalArgumentException | IllegalStateException e) {
            // not found, or found and not loadable: the backend's own GEMM serves then, so it is no kernel failure
            m.put("error", e.getMessage());
            skip("cublasGemmEx", "cuBLAS 13 not usable here: " + e.getMessage());
            return m;
        }
        try (cublas) {
            long workspace = CudaMemoryPlan.CUBLAS_WORKSPACE_BYTES;
            cublas.bind(0, alloc(workspace).address(), workspace);
            int t = 64;
            int n = 1024;
            int k = 2048;
            short[] w = randomBf16(n * k, 0.05);
            short[] x = randomBf16(t * k, 1);
            DevicePtr y = poisoned((long) t * n * 4);
            cublas.linear(t, n, k, upload(w).address(), upload(x).address(), y.address());
            JCudaDriver.cuCtxSynchronize();
            record(
                    "cublasGemmEx",
                    "64 tokens, 1024 x 2048, bf16 in, fp32 out",
                    floats(y, t * n),
                    KernelReferences.gemv(w, n, k, bf16ToFloat(x), t, null, null),
                    FP32_GATE);
            gemmRate(
                    m,
                    "cublas",
                    (bw, bx, by) ->
                            cublas.linear(RATE_TOKENS, RATE_DIM, RATE_DIM, bw.address(), bx.address(), by.address()));
        }
        return m;
    }

    /**
     * The CUDA backend against the CPU backend on random models of every architecture with two adapters
     * ({@link CudaModelCheck}), on this device, at the gate of ../shared/CUDA.md (2e-2 of the largest logit).
     */
    private List<CudaModelCheck.Result> checkModels() throws IOException {
        Path dir = java.nio.file.Files.createTempDirectory("cuda-models");
        List<CudaModelCheck.Result> results = new java.util.ArrayList<>(
                CudaModelCheck.run(dir.resolve("launches"), () -> new DriverGpu(driver, false)));
        // the same cases with the decode steps replaying CUDA graphs (issue 21), against the same CPU logits; a
        // failure there is one failed case, not the end of the check (graphs are off by default until this passes)
        try {
            results.addAll(CudaModelCheck.run(dir.resolve("graphs"), () -> new DriverGpu(driver, false), 4));
        } catch (RuntimeException e) {
            System.out.println("model cases with decode graphs: " + e);
            results.add(new CudaModelCheck.Result("decode graphs", "failed: " + e.getMessage(), Double.NaN, true));
        }
        // and with the prefill steps' linear layers through cuBLAS (issue 21; off by default until this passes)
        try {
            List<CudaModelCheck.Result> viaCublas =
                    CudaModelCheck.run(dir.resolve("cublas"), () -> new DriverGpu(driver, false, true));
            for (CudaModelCheck.Result r : viaCublas) {
                results.add(new CudaModelCheck.Result(
                        r.model() + ", cuBLAS prefill", r.step(), r.relativeError(), r.nan()));
            }
        } catch (RuntimeException e) {
            System.out.println("model cases with cuBLAS prefill: " + e);
            results.add(new CudaModelCheck.Result("cuBLAS prefill", "failed: " + e.getMessage(), Double.NaN, true));
        }
        for (CudaModelCheck.Result r : results) {
            boolean pass = !r.nan() && r.relativeError() <= MODEL_GATE;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kernel", "CudaBackend vs CpuBackend");
            m.put("case", r.model() + ": " + r.step());
            m.put("relative_error", r.relativeError());
            m.put("gate", MODEL_GATE);
            m.put("nan", r.nan());
            m.put("pass", pass);
            this.results.add(m);
            System.out.printf(
                    Locale.ROOT,
                    "%-22s %-44s %10.2e  (gate %.0e)%s  %s%n",
                    "model " + r.model(),
                    r.step(),
                    r.relativeError(),
                    MODEL_GATE,
                    r.nan() ? " NaN" : "",
                    pass ? "ok" : "FAIL");
        }
        return results;
    }

    private void checkEmbedAndNorms() {
        int vocab = 500;
        int hidden = 1024;
        short[] table = randomBf16(vocab * hidden, 1);
        int[] tokens = {3, 499, 0, 42, 42};
        CUdeviceptr out = poisoned((long) tokens.length * hidden * 4);
        launch("ts_embed_gather", tokens.length, 1, 256, upload(table), upload(tokens), hidden, out);
        record(
                "ts_embed_gather",
                "5 tokens, hidden 1024",
                floats(out, tokens.length * hidden),
                KernelReferences.embedGather(table, tokens, hidden),
                FP32_GATE);

        int rows = 4;
        float[] residual = randomFloats(rows * hidden, 3);
        float[] x = randomFloats(rows * hidden, 1);
        short[] w = randomBf16(hidden, 1);
        CUdeviceptr dResidual = upload(residual);
        CUdeviceptr normed = poisoned((long) rows * hidden * 4);
        launch("ts_add_rmsnorm", rows, 1, 256, dResidual, upload(x), upload(w), NULL, hidden, 1e-5f, normed);
        float[] refResidual = residual.clone();
        float[] ref = KernelReferences.addRmsNorm(refResidual, x, w, rows, hidden, 1e-5f);
        record("ts_add_rmsnorm", "4 rows, residual add", floats(normed, rows * hidden), ref, FP32_GATE);
        record(
                "ts_add_rmsnorm",
                "4 rows, the residual written back",
                floats(dResidual, rows * hidden),
                refResidual,
                FP32_GATE);

        int inter = 2816;
        float[] gateUp = randomFloats(rows * 2 * inter, 4);
        CUdeviceptr act = poisoned((long) rows * inter * 4);
        launch("ts_silu_mul", rows, 1, 256, upload(gateUp), inter, act);
        record(
                "ts_silu_mul",
                "4 rows, intermediate 2816",
                floats(act, rows * inter),
                KernelReferences.siluMul(gateUp, rows, inter),
                FP32_GATE);
    }

    private void checkToBf16() {
        int n = 1_000_003;
        float[] x = randomFloats(n, 100);
        DevicePtr out = poisoned(2L * n);
        launch("ts_to_bf16", 256, 1, 256, upload(x), (long) n, out);
        record(
                "ts_to_bf16",
                "1,000,003 values",
                bf16ToFloat(shorts(out, n)),
                bf16ToFloat(KernelReferences.toBf16(x)),
                BF16_GATE);
    }

    private void checkAddBiasRows() {
        // Qwen2-7B's k bias width (512) over 37 rows, in fewer blocks than values (the grid-stride loop)
        int n = 512;
        int rows = 37;
        float[] y = randomFloats(rows * n, 3);
        short[] bias = randomBf16(n, 0.5);
        CUdeviceptr dy = upload(y);
        launch("ts_add_bias_rows", 16, 1, 256, dy, upload(bias), n, (long) rows * n);
        record(
                "ts_add_bias_rows",
                "37 rows of 512, 16 blocks",
                floats(dy, rows * n),
                KernelReferences.addBiasRows(y, bias, n),
                FP32_GATE);
    }

    private void checkGemv(int tokens, int n, int k, boolean bias, boolean add) {
        short[] w = randomBf16(n * k, 0.05);
        float[] x = randomFloats(tokens * k, 1);
        short[] b = bias ? randomBf16(n, 0.5) : null;
        float[] a = add ? randomFloats(tokens * n, 1) : null;
        CUdeviceptr y = add ? upload(a) : poisoned((long) tokens * n * 4);
        launchGemv(
                upload(w), n, k, upload(x), tokens, b != null ? upload(b) : NULL, add ? y : NULL, y, NULL, NULL, 0, 0);
        record(
                "ts_gemv_bf16",
                tokens + " tokens, " + n + " x " + k + (bias ? ", bias" : "") + (add ? ", add" : ""),
                floats(y, tokens * n),
                KernelReferences.gemv(w, n, k, x, tokens, b, a),
                FP32_GATE);
    }

    /** {@code ts_gemv_silu_bf16} on its backend's grid against the GEMV and the silu of the reference. */
    private void checkGemvSilu(int tokens, int inter, int k) {
        short[] w = randomBf16(2 * inter * k, 0.05);
        float[] x = randomFloats(tokens * k, 1);
        CUdeviceptr act = poisoned((long) tokens * inter * 4);
        launch(
                "ts_gemv_silu_bf16",
                (inter + CudaKernels.GEMV_ROWS_PER_BLOCK - 1) / CudaKernels.GEMV_ROWS_PER_BLOCK,
                1,
                CudaKernels.GEMV_THREADS,
                upload(w),
                inter,
                k,
                upload(x),
                tokens,
                act);
        record(
                "ts_gemv_silu_bf16",
                tokens + " tokens, gate/up 2 x " + inter + " x " + k,
                floats(act, tokens * inter),
                KernelReferences.gemvSilu(w, inter, k, x, tokens),
                FP32_GATE);
    }

    /** {@code ts_gemv_bf16} on its backend's grid (every argument as the kernel takes it). */
    private void launchGemv(
            CUdeviceptr w,
            int n,
            int k,
            CUdeviceptr x,
            int tokens,
            CUdeviceptr bias,
            CUdeviceptr add,
            CUdeviceptr y,
            CUdeviceptr y1,
            CUdeviceptr y2,
            int split1,
            int split2) {
        launch(
                "ts_gemv_bf16",
                (n + CudaKernels.GEMV_ROWS_PER_BLOCK - 1) / CudaKernels.GEMV_ROWS_PER_BLOCK,
                1,
                CudaKernels.GEMV_THREADS,
                w,
                n,
                k,
                x,
                tokens,
                bias,
                add,
                y,
                y1,
                y2,
                split1,
                split2);
    }

    /** A fused q/k/v weight's rows into three outputs (512 + 128 + 128 rows, 5 tokens, a bias), as the backend runs it. */
    private void checkGemvSplit() {
        int tokens = 5;
        int q = 512;
        int kv = 128;
        int n = q + 2 * kv;
        int k = 1024;
        short[] w = randomBf16(n * k, 0.05);
        float[] x = randomFloats(tokens * k, 1);
        short[] b = randomBf16(n, 0.5);
        CUdeviceptr yq = poisoned((long) tokens * q * 4);
        CUdeviceptr yk = poisoned((long) tokens * kv * 4);
        CUdeviceptr yv = poisoned((long) tokens * kv * 4);
        launchGemv(upload(w), n, k, upload(x), tokens, upload(b), NULL, yq, yk, yv, q, q + kv);
        float[] ref = KernelReferences.gemv(w, n, k, x, tokens, b, null);
        int[] from = {0, q, q + kv};
        int[] width = {q, kv, kv};
        CUdeviceptr[] outs = {yq, yk, yv};
        String[] names = {"q", "k", "v"};
        for (int o = 0; o < 3; o++) {
            float[] want = new float[tokens * width[o]];
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(ref, t * n + from[o], want, t * width[o], width[o]);
            }
            record(
                    "ts_gemv_bf16",
                    "fused q/k/v into three outputs, 5 tokens, bias: " + names[o],
                    floats(outs[o], tokens * width[o]),
                    want,
                    FP32_GATE);
        }
    }

    private void checkRopeKv(boolean qkNorm, boolean kvF32) {
        int tokens = 6;
        int heads = 8;
        int kvHeads = 2;
        int headDim = 128;
        int blockSize = 16;
        int blocks = 4;
        int half = headDim / 2;
        int maxPos = 200;
        float[] cos = new float[maxPos * half];
        float[] sin = new float[maxPos * half];
        for (int p = 0; p < maxPos; p++) {
            for (int i = 0; i < half; i++) {
                double f = p / Math.pow(500000.0, 2.0 * i / headDim);
                cos[p * half + i] = (float) Math.cos(f);
                sin[p * half + i] = (float) Math.sin(f);
            }
        }
        float[] q = randomFloats(tokens * heads * headDim, 2);
        float[] k = randomFloats(tokens * kvHeads * headDim, 2);
        float[] v = randomFloats(tokens * kvHeads * headDim, 2);
        int[] positions = {0, 1, 17, 63, 64, 199};
        int[] slots = {0, 5, 16, -1, 33, 63};
        short[] qn = qkNorm ? randomBf16(headDim, 1) : null;
        short[] kn = qkNorm ? randomBf16(headDim, 1) : null;
        int cacheValues = blocks * kvHeads * blockSize * headDim;
        CUdeviceptr dq = upload(q);
        CUdeviceptr dk = upload(k);
        long cacheBytes = cacheValues * (kvF32 ? 4L : 2L);
        CUdeviceptr kc = alloc(cacheBytes);
        CUdeviceptr vc = alloc(cacheBytes);
        JCudaDriver.cuMemsetD8(kc, (byte) 0, cacheBytes);
        JCudaDriver.cuMemsetD8(vc, (byte) 0, cacheBytes);
        launch(
                "ts_qk_rope_kv_write",
                tokens,
                heads + kvHeads,
                32,
                dq,
                dk,
                upload(v),
                upload(positions),
                upload(cos),
                upload(sin),
                qn != null ? upload(qn) : NULL,
                kn != null ? upload(kn) : NULL,
                1e-6f,
                heads,
                kvHeads,
                headDim,
                upload(slots),
                kc,
                vc,
                blockSize,
                kvF32 ? 1 : 0);
        float[] rq = q.clone();
        float[] rk = k.clone();
        float[] rkc = new float[cacheValues];
        float[] rvc = new float[cacheValues];
        KernelReferences.qkRopeKvWrite(
                rq, rk, v, positions, cos, sin, qn, kn, 1e-6f, heads, kvHeads, headDim, slots, rkc, rvc, blockSize,
                kvF32);
        String kase = "6 tokens, GQA 8/2, head 128" + (qkNorm ? ", QK norm" : "") + (kvF32 ? ", fp32 KV" : "");
        record("ts_qk_rope_kv_write", kase + ": q", floats(dq, q.length), rq, FP32_GATE);
        record("ts_qk_rope_kv_write", kase + ": k", floats(dk, k.length), rk, FP32_GATE);
        record("ts_qk_rope_kv_write", kase + ": K cache", cacheFloats(kc, cacheValues, kvF32), rkc, kvGate(kvF32));
        record("ts_qk_rope_kv_write", kase + ": V cache", cacheFloats(vc, cacheValues, kvF32), rvc, kvGate(kvF32));
    }

    /** A KV cache read back as values: fp32, or bf16 widened. */
    private float[] cacheFloats(CUdeviceptr p, int n, boolean kvF32) {
        return kvF32 ? floats(p, n) : bf16ToFloat(shorts(p, n));
    }

    private static double kvGate(boolean kvF32) {
        return kvF32 ? FP32_GATE : BF16_GATE;
    }

    /** The random-weights kernel must write the reference's bits exactly (a counter-based generator). */
    private void checkRandom() {
        long n = 3 * 1_000_003L;
        CUdeviceptr out = poisoned(2 * n);
        launch("ts_random_bf16", 264, 1, 256, out, n, 0x5eedL, 0.02f);
        short[] got = shorts(out, (int) n);
        short[] want = KernelReferences.randomBf16(n, 0x5eedL, 0.02f);
        record("ts_random_bf16", "3,000,009 values, scale 0.02, grid-stride", bf16ToFloat(got), bf16ToFloat(want), 0);
    }

    /**
     * Random inputs of an attention case: bf16 K and V caches of {@code totalBlocks} blocks of 16 positions (and
     * their values), block tables of {@code maxBlocks} random blocks per row, and q for {@code rows} rows.
     */
    private record AttentionInputs(
            short[] kcBits, short[] vcBits, float[] kc, float[] vc, int[] tables, float[] q, float scale) {}

    private AttentionInputs attentionInputs(
            int rows, int heads, int kvHeads, int headDim, int maxBlocks, int totalBlocks) {
        int cacheValues = totalBlocks * kvHeads * 16 * headDim;
        short[] kcBits = randomBf16(cacheValues, 1);
        short[] vcBits = randomBf16(cacheValues, 1);
        int[] tables = new int[rows * maxBlocks];
        for (int i = 0; i < tables.length; i++) {
            tables[i] = random.nextInt(totalBlocks);
        }
        return new AttentionInputs(
                kcBits,
                vcBits,
                KernelReferences.cacheValues(kcBits),
                KernelReferences.cacheValues(vcBits),
                tables,
                randomFloats(rows * heads * headDim, 1),
                (float) (1 / Math.sqrt(headDim)));
    }

    private void checkAttention(int slidingWindow, boolean kvF32, int heads, int kvHeads, int headDim) {
        int blockSize = 16;
        int maxBlocks = 20;
        int[] lens = {1, 16, 17, 100, 300, 45};
        int rows = lens.length;
        AttentionInputs in = attentionInputs(rows, heads, kvHeads, headDim, maxBlocks, 64);
        float[] kc = in.kc();
        float[] vc = in.vc();
        short[] kcBits = in.kcBits();
        short[] vcBits = in.vcBits();
        int[] tables = in.tables();
        float[] q = in.q();
        float scale = in.scale();
        CUdeviceptr out = poisoned((long) rows * heads * headDim * 4);
        launch(
                "ts_paged_attention",
                rows,
                kvHeads,
                CudaKernels.attentionThreads(heads, kvHeads),
                upload(q),
                kvF32 ? upload(kc) : upload(kcBits),
                kvF32 ? upload(vc) : upload(vcBits),
                upload(tables),
                maxBlocks,
                upload(lens),
                heads,
                kvHeads,
                headDim,
                blockSize,
                scale,
                slidingWindow,
                out,
                kvF32 ? 1 : 0,
                NULL);
        record(
                "ts_paged_attention",
                "6 rows of 1-300 positions, GQA " + heads + "/" + kvHeads + ", head " + headDim
                        + (slidingWindow > 0 ? ", window " + slidingWindow : "")
                        + (kvF32 ? ", fp32 KV" : ""),
                floats(out, rows * heads * headDim),
                KernelReferences.pagedAttention(
                        q, kc, vc, tables, maxBlocks, lens, heads, kvHeads, headDim, blockSize, scale, slidingWindow),
                FP32_GATE);
    }

    /**
     * Split-K attention ({@code ts_paged_attention_split} into poisoned partials, then {@code ts_attention_combine})
     * against the unsplit reference: decode rows of 1 to 1,000 positions in {@code splits} runs (some empty, some
     * shorter than a run), listed out of order with a row left out, as a step's row list may; the output row left out
     * must stay as it was.
     */
    private void checkSplitAttention(
            int slidingWindow, boolean kvF32, int heads, int kvHeads, int headDim, int splits) {
        int blockSize = 16;
        int maxBlocks = 64;
        int[] lens = {1, 1000, 17, 300, 45};
        int rows = lens.length;
        AttentionInputs in = attentionInputs(rows, heads, kvHeads, headDim, maxBlocks, 160);
        float[] kc = in.kc();
        float[] vc = in.vc();
        float[] q = in.q();
        float scale = in.scale();
        int[] tables = in.tables();
        short[] kcBits = in.kcBits();
        short[] vcBits = in.vcBits();
        int[] list = {3, 1, 0, 4};
        CUdeviceptr part = poisoned(4 * CudaKernels.attentionPartialFloats(list.length, splits, heads, headDim));
        int outValues = rows * heads * headDim;
        float[] before = randomFloats(outValues, 1);
        CUdeviceptr out = upload(before);
        CUdeviceptr rowList = upload(list);
        launch3(
                "ts_paged_attention_split",
                list.length,
                kvHeads,
                splits,
                CudaKernels.attentionThreads(heads, kvHeads),
                upload(q),
                kvF32 ? upload(kc) : upload(kcBits),
                kvF32 ? upload(vc) : upload(vcBits),
                upload(tables),
                maxBlocks,
                upload(lens),
                heads,
                kvHeads,
                headDim,
                blockSize,
                scale,
                slidingWindow,
                part,
                kvF32 ? 1 : 0,
                rowList);
        launch(
                "ts_attention_combine",
                list.length,
                heads,
                Math.min(256, (headDim + 31) / 32 * 32),
                part,
                splits,
                heads,
                headDim,
                rowList,
                out);
        float[] want = KernelReferences.pagedAttention(
                q, kc, vc, tables, maxBlocks, lens, heads, kvHeads, headDim, blockSize, scale, slidingWindow);
        // row 2 is not listed: its output keeps what was there
        System.arraycopy(before, 2 * heads * headDim, want, 2 * heads * headDim, heads * headDim);
        record(
                "ts_paged_attention_split",
                "4 of 5 rows of 1-1,000 positions in " + splits + " runs, GQA " + heads + "/" + kvHeads + ", head "
                        + headDim + (slidingWindow > 0 ? ", window " + slidingWindow : "") + (kvF32 ? ", fp32 KV" : "")
                        + ", combined",
                floats(out, outValues),
                want,
                FP32_GATE);
    }

    /**
     * {@code ts_prefill_attention} on tensor cores against the reference, and {@code ts_paged_attention} with a row
     * list beside it, as a mixed step runs them: one sequence's prefill chunk of 41 rows (positions 60 to 100 after
     * 60 cached: tiles of 16, 16 and 9 rows), another's of 3 rows from position 0, and two decode rows listed for the
     * row kernel. bf16 cache, head size 128; the tiles' outputs within bf16's precision (Q and P are rounded to bf16
     * for the mma).
     */
    private void checkPrefillAttention(int heads, int kvHeads) {
        int headDim = 128;
        int blockSize = 16;
        int maxBlocks = 8;
        int totalBlocks = 40;
        int cacheValues = totalBlocks * kvHeads * blockSize * headDim;
        short[] kcBits = randomBf16(cacheValues, 1);
        short[] vcBits = randomBf16(cacheValues, 1);
        // rows: 0-40 sequence A (positions 60-100), 41-42 decodes (contexts 33 and 7), 43-45 sequence B (0-2)
        int rows = 46;
        int[] lens = new int[rows];
        int[] tables = new int[rows * maxBlocks];
        int[][] seqTables = {
            {3, 9, 1, 20, 14, 7, 30, 2}, {5, 6, 8, 0, 0, 0, 0, 0}, {11, 0, 0, 0, 0, 0, 0, 0}, {25, 0, 0, 0, 0, 0, 0, 0}
        };
        for (int r = 0; r < rows; r++) {
            int seq;
            if (r <= 40) {
                seq = 0;
                lens[r] = 61 + r;
            } else if (r == 41) {
                seq = 1;
                lens[r] = 33;
            } else if (r == 42) {
                seq = 2;
                lens[r] = 7;
            } else {
                seq = 3;
                lens[r] = r - 42;
            }
            System.arraycopy(seqTables[seq], 0, tables, r * maxBlocks, maxBlocks);
        }
        int[] tiles = {0, 16, 16, 16, 32, 9, 43, 3};
        int[] rowList = {41, 42};
        float[] q = randomFloats(rows * heads * headDim, 1);
        float scale = (float) (1 / Math.sqrt(headDim));
        CUdeviceptr dq = upload(q);
        CUdeviceptr dk = upload(kcBits);
        CUdeviceptr dv = upload(vcBits);
        CUdeviceptr dTables = upload(tables);
        CUdeviceptr dLens = upload(lens);
        CUdeviceptr out = poisoned((long) rows * heads * headDim * 4);
        launch(
                "ts_paged_attention",
                rowList.length,
                kvHeads,
                CudaKernels.attentionThreads(heads, kvHeads),
                dq,
                dk,
                dv,
                dTables,
                maxBlocks,
                dLens,
                heads,
                kvHeads,
                headDim,
                blockSize,
                scale,
                0,
                out,
                0,
                upload(rowList));
        launch(
                "ts_prefill_attention",
                tiles.length / 2,
                heads,
                32,
                dq,
                dk,
                dv,
                dTables,
                maxBlocks,
                dLens,
                upload(tiles),
                heads,
                kvHeads,
                blockSize,
                scale,
                out);
        float[] want = KernelReferences.pagedAttention(
                q,
                KernelReferences.cacheValues(kcBits),
                KernelReferences.cacheValues(vcBits),
                tables,
                maxBlocks,
                lens,
                heads,
                kvHeads,
                headDim,
                blockSize,
                scale,
                0);
        float[] got = floats(out, rows * heads * headDim);
        int rowValues = heads * headDim;
        record(
                "ts_prefill_attention",
                "tiles of 16/16/9 rows after 60 cached and of 3 from 0, GQA " + heads + "/" + kvHeads,
                concat(
                        Arrays.copyOfRange(got, 0, 41 * rowValues),
                        Arrays.copyOfRange(got, 43 * rowValues, 46 * rowValues)),
                concat(
                        Arrays.copyOfRange(want, 0, 41 * rowValues),
                        Arrays.copyOfRange(want, 43 * rowValues, 46 * rowValues)),
                BF16_GATE);
        record(
                "ts_paged_attention",
                "a row list (two decode rows of a mixed step), GQA " + heads + "/" + kvHeads,
                Arrays.copyOfRange(got, 41 * rowValues, 43 * rowValues),
                Arrays.copyOfRange(want, 41 * rowValues, 43 * rowValues),
                FP32_GATE);
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * The slot-grouped LoRA kernels for two projections at once (as gate and up run): 300 tokens (more than a
     * block lists per pass) over three slots of ranks 8, 32 and 16 and tokens without an adapter, the second
     * projection's outputs into strided columns of fused rows.
     */
    private void checkLora() {
        int tokens = 300;
        int k = 2048;
        int[] n = {1536, 1000};
        int maxRank = 32;
        int slots = 3;
        int[] tokenSlot = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            tokenSlot[t] = t % 11 == 3 ? -1 : (t * 7) % slots;
        }
        int[] slotRank = {8, 32, 16};
        float[] slotScale = {2.0f, 0.5f, 1.0f};
        short[][] a = {randomBf16(slots * maxRank * k, 0.05), randomBf16(slots * maxRank * k, 0.05)};
        short[][] b = {randomBf16(slots * n[0] * maxRank, 0.05), randomBf16(slots * n[1] * maxRank, 0.05)};
        float[] x = randomFloats(tokens * k, 1);
        CUdeviceptr tmp = poisoned(3L * tokens * maxRank * 4);
        CUdeviceptr dSlot = upload(tokenSlot);
        CUdeviceptr dRank = upload(slotRank);
        launch3(
                "ts_lora_shrink",
                slots + 1,
                maxRank / 8,
                2,
                256,
                upload(x),
                k,
                upload(a[0]),
                upload(a[1]),
                NULL,
                dSlot,
                tokens,
                dRank,
                maxRank,
                tmp);
        float[] gotTmp = floats(tmp, 2 * tokens * maxRank);
        float[][] refTmp = new float[2][];
        for (int p = 0; p < 2; p++) {
            refTmp[p] = KernelReferences.loraShrink(x, k, a[p], tokenSlot, slotRank, maxRank);
            record(
                    "ts_lora_shrink",
                    "300 tokens, slots of rank 8/32/16 and none, projection " + p + " of 2",
                    Arrays.copyOfRange(gotTmp, p * tokens * maxRank, (p + 1) * tokens * maxRank),
                    refTmp[p],
                    FP32_GATE);
        }
        // the first projection into rows of its own width, the second into the columns from 256 of rows of 2048
        int[] stride = {n[0], 2048};
        int offset = 256;
        float[] y0 = randomFloats(tokens * n[0], 1);
        float[] fused = randomFloats(tokens * stride[1], 1);
        CUdeviceptr dy0 = upload(y0);
        CUdeviceptr dy1 = upload(fused);
        float[] both = new float[2 * tokens * maxRank];
        System.arraycopy(refTmp[0], 0, both, 0, tokens * maxRank);
        System.arraycopy(refTmp[1], 0, both, tokens * maxRank, tokens * maxRank);
        launch3(
                "ts_lora_expand",
                slots,
                (n[0] + 255) / 256,
                2,
                256,
                upload(both),
                tokens,
                upload(b[0]),
                n[0],
                dy0,
                stride[0],
                upload(b[1]),
                n[1],
                dy1.withByteOffset(4L * offset),
                stride[1],
                NULL,
                0,
                NULL,
                0,
                dSlot,
                dRank,
                upload(slotScale),
                maxRank);
        float[] ref0 = y0.clone();
        KernelReferences.loraExpand(refTmp[0], b[0], tokenSlot, slotRank, slotScale, maxRank, n[0], stride[0], ref0, 0);
        float[] ref1 = fused.clone();
        KernelReferences.loraExpand(
                refTmp[1], b[1], tokenSlot, slotRank, slotScale, maxRank, n[1], stride[1], ref1, offset);
        record(
                "ts_lora_expand",
                "300 tokens, scales 2/0.5/1, projection 0 of 2",
                floats(dy0, tokens * n[0]),
                ref0,
                FP32_GATE);
        record(
                "ts_lora_expand",
                "300 tokens, projection 1 of 2, strided",
                floats(dy1, tokens * stride[1]),
                ref1,
                FP32_GATE);
    }
}
