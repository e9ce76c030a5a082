package io.twinserve.engine.backend.cuda;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * The CUDA driver for one device, through JCuda (the cold path: context, memory, modules, streams; see {@code
 * ../shared/CUDA.md}): the device's primary context made current, and the kernels' module loaded with every
 * function of {@link CudaKernels#NAMES}. Every call's return code is checked by JCuda (exceptions on), and a
 * failure becomes a {@link CudaUnavailableException} that names the call and the CUDA error.
 */
public final class CudaDriver implements AutoCloseable {
    private static final Object INIT = new Object();
    private static volatile boolean initialised;
    /** Why the driver could not be used, once known: JCuda's classes cannot be initialised a second time. */
    private static volatile CudaUnavailableException failed;

    private final CUdevice device;
    private final CUcontext context;
    private final CUmodule module;
    private final Map<String, Function> functions = new LinkedHashMap<>();
    private final DeviceInfo info;

    /** What a device is, for reports and the memory plan. */
    public record DeviceInfo(
            int ordinal, String name, long totalMemoryBytes, int computeMajor, int computeMinor, int driverVersion) {
        /** "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB, driver API 13.0)". */
        public String describe() {
            return "%s (sm_%d%d, %.1f GiB, driver API %d.%d)"
                    .formatted(
                            name,
                            computeMajor,
                            computeMinor,
                            totalMemoryBytes / (double) (1L << 30),
                            driverVersion / 1000,
                            driverVersion % 1000 / 10);
        }
    }

    private CudaDriver(int ordinal) {
        init();
        int count = deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new CudaUnavailableException(
                    "CUDA device " + ordinal + " does not exist: the driver sees " + count + " device(s)");
        }
        device = new CUdevice();
        call("cuDeviceGet", () -> JCudaDriver.cuDeviceGet(device, ordinal));
        info = describe(ordinal, device);
        context = new CUcontext();
        call("cuDevicePrimaryCtxRetain", () -> JCudaDriver.cuDevicePrimaryCtxRetain(context, device));
        bind();
        module = new CUmodule();
        byte[] fatbin = CudaKernels.fatbin();
        call("cuModuleLoadData", () -> JCudaDriver.cuModuleLoadData(module, fatbin));
        for (String name : CudaKernels.NAMES) {
            Function f = new Function();
            call("cuModuleGetFunction(" + name + ")", () -> JCudaDriver.cuModuleGetFunction(f, module, name));
            functions.put(name, f);
        }
    }

    /** Opens device {@code ordinal}: its primary context, current on this thread, and the kernels loaded. */
    public static CudaDriver open(int ordinal) {
        return new CudaDriver(ordinal);
    }

    /** How many CUDA devices the driver sees; throws {@link CudaUnavailableException} when there is no driver. */
    public static int deviceCount() {
        init();
        int[] count = new int[1];
        call("cuDeviceGetCount", () -> JCudaDriver.cuDeviceGetCount(count));
        return count[0];
    }

    /** Whether a CUDA device can be used here (a driver and at least one device); never throws. */
    public static boolean available() {
        try {
            return deviceCount() > 0;
        } catch (CudaUnavailableException e) {
            return false;
        }
    }

    /**
     * Whether {@code libcuda.so.1} is in the loader's usual folders or on {@code LD_LIBRARY_PATH}: a quick look
     * that loads nothing, for reports and for tests that must know whether a driver is there.
     */
    public static boolean driverLibraryFound() {
        List<String> dirs = new ArrayList<>(List.of(
                "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/lib/wsl/lib"));
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            dirs.addAll(List.of(ld.split(File.pathSeparator)));
        }
        return dirs.stream().anyMatch(d -> !d.isEmpty() && Files.exists(Path.of(d, "libcuda.so.1")));
    }

    public DeviceInfo info() {
        return info;
    }

    /** The loaded kernel {@code name} (one of {@link CudaKernels#NAMES}). */
    public CUfunction function(String name) {
        Function f = functions.get(name);
        if (f == null) {
            throw new IllegalArgumentException(
                    "no CUDA kernel named " + name + "; the kernels are " + functions.keySet());
        }
        return f;
    }

    /** The raw {@code CUfunction} handle of kernel {@code name}, for {@link FfmLauncher}. */
    public long functionHandle(String name) {
        return ((Function) function(name)).handle();
    }

    /** A {@code CUfunction} whose raw handle can be read (JCuda keeps its getter protected). */
    private static final class Function extends CUfunction {
        long handle() {
            return getNativePointer();
        }
    }

    /** The driver whose context the calling thread has made current through {@link #bind} (null: none yet). */
    private static final ThreadLocal<CudaDriver> CURRENT = new ThreadLocal<>();

    /**
     * Makes this device's context current on the calling thread, unless it already is. A context is current per
     * thread: the thread that opened the driver has it, but the live engine steps on a thread of its own, and any
     * driver call (a JCuda one, a launch through FFM, cuBLAS) on a thread without it fails with
     * CUDA_ERROR_INVALID_CONTEXT, or lands on another device's context. {@link DriverGpu} calls this first in every
     * operation; a thread-local check keeps it to one driver call per thread and device switch.
     */
    public void bind() {
        if (CURRENT.get() != this) {
            call("cuCtxSetCurrent", () -> JCudaDriver.cuCtxSetCurrent(context));
            CURRENT.set(this);
        }
    }

    private boolean closed;

    /**
     * Unloads the kernels and releases the primary context; the context is released even when the unload fails (a
     * sticky device error), and a second close does nothing.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            bind();
            call("cuModuleUnload", () -> JCudaDriver.cuModuleUnload(module));
        } finally {
            if (CURRENT.get() == this) {
                CURRENT.remove();
            }
            call("cuDevicePrimaryCtxRelease", () -> JCudaDriver.cuDevicePrimaryCtxRelease(device));
        }
    }

    private static DeviceInfo describe(int ordinal, CUdevice device) {
        byte[] name = new byte[256];
        call("cuDeviceGetName", () -> JCudaDriver.cuDeviceGetName(name, name.length, device));
        int len = 0;
        while (len < name.length && name[len] != 0) {
            len++;
        }
        long[] memory = new long[1];
        call("cuDeviceTotalMem", () -> JCudaDriver.cuDeviceTotalMem(memory, device));
        int[] major = new int[1];
        int[] minor = new int[1];
        call(
                "cuDeviceGetAttribute",
                () -> JCudaDriver.cuDeviceGetAttribute(
                        major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device));
        call(
                "cuDeviceGetAttribute",
                () -> JCudaDriver.cuDeviceGetAttribute(
                        minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device));
        int[] version = new int[1];
        call("cuDriverGetVersion", () -> JCudaDriver.cuDriverGetVersion(version));
        return new DeviceInfo(
                ordinal,
                new String(name, 0, len, StandardCharsets.US_ASCII),
                memory[0],
                major[0],
                minor[0],
                version[0]);
    }

    /** Loads JCuda's driver library and initialises the driver once; turns a missing driver into one line. */
    private static void init() {
        if (initialised) {
            return;
        }
        synchronized (INIT) {
            if (initialised) {
                return;
            }
            if (failed != null) {
                throw new CudaUnavailableException(failed.getMessage(), failed);
            }
            try {
                JCudaDriver.setExceptionsEnabled(true);
                call("cuInit", () -> JCudaDriver.cuInit(0));
            } catch (UnsatisfiedLinkError e) {
                failed = unavailable(e);
                throw failed;
            } catch (CudaUnavailableException e) {
                failed = e;
                throw e;
            }
            initialised = true;
        }
    }

    /**
     * The one-line error for a driver library that did not load: JCuda's own message is a page of nested
     * stack traces, and the cause a user can act on is usually the missing {@code libcuda.so.1}.
     */
    static CudaUnavailableException unavailable(UnsatisfiedLinkError e) {
        String all = String.valueOf(e.getMessage());
        if (all.contains("libcuda.so.1")) {
            return new CudaUnavailableException(
                    "CUDA unavailable: libcuda.so.1 not found (no NVIDIA driver on this machine, or not on the"
                            + " loader path); use --backend cpu",
                    e);
        }
        String first = all.lines().findFirst().orElse(all);
        return new CudaUnavailableException("CUDA unavailable: JCuda's driver library did not load (" + first + ")", e);
    }

    @FunctionalInterface
    private interface Call {
        int run();
    }

    /** Runs a driver call; a failure names the call and the CUDA error (JCuda throws on any error code). */
    private static void call(String what, Call c) {
        try {
            c.run();
        } catch (CudaException e) {
            throw new CudaUnavailableException("CUDA: " + what + " failed: " + e.getMessage(), e);
        } catch (UnsatisfiedLinkError e) {
            throw unavailable(e);
        }
    }
}
