package io.twinserve.engine.profile;

import com.sun.management.OperatingSystemMXBean;
import io.twinserve.traces.Provenance;
import io.twinserve.twin.profile.ModelProfile;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * An engine profile on disk: fits the measurements and writes the table, the measurements with the twin's
 * predictions, the hardware and model profiles, the calibration and a ready deployment into one folder.
 */
public final class EngineProfile {
    /** What was written. */
    public record Result(Path directory, ProfileFit.Fitted fitted, EngineProfiler.Measurements measurements) {
        public Path deployment() {
            return directory.resolve(ProfileWriter.DEPLOYMENT);
        }
    }

    private EngineProfile() {}

    /**
     * Fits and writes the profile of {@code m} into {@code out} (created if needed).
     *
     * @param modelName the model profile's name (its folder's name is a good one)
     * @param provenance recorded in calibration.yaml beside the machine's own facts
     */
    public static Result write(
            EngineProfiler.Measurements m, Path out, String modelName, Map<String, Object> provenance)
            throws IOException {
        Files.createDirectories(out);
        ModelProfile model = ProfileFit.modelProfile(m.config(), modelName);
        EngineProfiler.Device device = m.device();
        boolean gpu = device.backend().equals("cuda");
        String cpu = gpu ? cpuModel() : device.name();
        String hardwareName = gpu ? gpuHardwareName(device.name()) : hardwareName(cpu, m.threads());
        Path table = out.resolve(ProfileWriter.TABLE);
        ProfileWriter.writeTable(m, model, table);
        String source = gpu
                ? "fitted by twinserve engine profile: " + device.name() + ", CUDA backend"
                : "fitted by twinserve engine profile: " + cpu + ", " + m.threads() + " threads";
        ProfileFit.Fitted fitted = ProfileFit.fit(m, model, hardwareName, device.memoryGib(), source, table);
        ProfileWriter.writeSteps(m, fitted.rows(), out.resolve(ProfileWriter.STEPS));
        ProfileWriter.writeHardware(fitted.hardware(), out.resolve(ProfileWriter.HARDWARE));
        ProfileWriter.writeModel(model, out.resolve(ProfileWriter.MODELS));
        Map<String, Object> prov = new LinkedHashMap<>(Provenance.of(null, null).asMap());
        prov.put("backend", device.backend());
        prov.put("cpu", cpu);
        if (gpu) {
            prov.put("gpu", device.name());
            // the timings depend on them: a profile measured with a fast path off prices a slower engine
            prov.put("cuda_fast_paths", new LinkedHashMap<>(new java.util.TreeMap<>(device.fastPaths())));
        } else {
            prov.put("threads", m.threads());
        }
        prov.put("tp", m.tensorParallel());
        prov.put("block_size", m.blockSize());
        prov.putAll(provenance);
        ProfileWriter.writeCalibration(
                fitted,
                gpu
                        ? "twinserve cuda backend (" + device.name() + ", block size " + m.blockSize() + ")"
                        : "twinserve cpu backend (" + m.threads() + " threads, tp " + m.tensorParallel()
                                + ", block size " + m.blockSize() + ")",
                prov,
                out.resolve(ProfileWriter.CALIBRATION));
        ProfileWriter.writeDeployment(
                fitted,
                out,
                m.tensorParallel(),
                (int) m.steps().stream()
                        .mapToInt(StepMeasurement::adapters)
                        .max()
                        .orElse(0),
                m.adapterLoads().stream()
                        .mapToInt(AdapterLoadMeasurement::rank)
                        .max()
                        .orElse(16),
                m.blockSize(),
                m.steps().stream()
                        .filter(s -> s.kind() == StepMeasurement.Kind.TABLE)
                        .mapToInt(StepMeasurement::tokens)
                        .max()
                        .orElse(1));
        return new Result(out, fitted, m);
    }

    /** The hardware profile's name of a GPU: "cuda-" and its name, lower-case with dashes. */
    static String gpuHardwareName(String gpu) {
        String slug = gpu.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
        return "cuda-" + (slug.isEmpty() ? "unknown" : slug);
    }

    /** The hardware profile's name: the CPU model and the threads, lower-case with dashes. */
    static String hardwareName(String cpu, int threads) {
        String slug = cpu.toLowerCase(Locale.ROOT)
                .replaceAll("\\(r\\)|\\(tm\\)|processor|cpu", " ")
                .replaceAll("[^a-z0-9]+", "-")
                .replaceAll("^-+|-+$", "");
        return "cpu-" + (slug.isEmpty() ? "unknown" : slug) + "-" + threads + "t";
    }

    /** The CPU's model name from /proc/cpuinfo, else the architecture. */
    public static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall back below
        }
        return System.getProperty("os.arch");
    }

    /** The machine's memory in GiB. */
    public static double physicalMemoryGib() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof OperatingSystemMXBean os) {
            return os.getTotalMemorySize() / (double) (1L << 30);
        }
        return Runtime.getRuntime().maxMemory() / (double) (1L << 30);
    }
}
