package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA kernels' artifacts without a GPU: the source, the checked-in fatbin, the ptxas report and the Java
 * side's list of kernels agree, no kernel spills registers, and (where nvcc is installed) rebuilding gives the
 * checked-in fatbin and report byte for byte, so neither can drift from the source.
 */
class CudaKernelArtifactsTest {
    private static final Path SOURCE = Path.of("src/main/cuda/twinserve_kernels.cu");
    private static final Path REPORT = Path.of("src/main/cuda/twinserve_kernels.ptxas.txt");
    private static final Path SCRIPT = Path.of("../scripts/cuda/build-kernels.sh");

    @Test
    void theSourceDefinesExactlyTheKernelsTheJavaSideLists() throws IOException {
        Matcher m = Pattern.compile("extern \"C\" __global__ void (?:__launch_bounds__\\([^)]*\\) )?(\\w+)\\(")
                .matcher(Files.readString(SOURCE));
        List<String> defined = new ArrayList<>();
        while (m.find()) {
            defined.add(m.group(1));
        }
        assertThat(defined).containsExactlyElementsOf(CudaKernels.NAMES);
    }

    @Test
    void theFatbinHoldsEveryKernelForBothArchitecturesWithoutSpills() throws IOException {
        String fatbin = new String(CudaKernels.fatbin(), StandardCharsets.ISO_8859_1);
        String report = Files.readString(REPORT);
        for (String name : CudaKernels.NAMES) {
            assertThat(fatbin).as("fatbin").contains(name);
            for (String arch : List.of("sm_80", "sm_90")) {
                assertThat(report).contains("Compiling entry function '" + name + "' for '" + arch + "'");
            }
        }
        List<String> spills =
                report.lines().filter(l -> l.contains("spill stores")).toList();
        assertThat(spills).hasSize(2 * CudaKernels.NAMES.size());
        assertThat(spills).allSatisfy(l -> assertThat(l).contains("0 bytes spill stores, 0 bytes spill loads"));
    }

    @Test
    void rebuildingWithNvccGivesTheCheckedInFatbinAndReport(@TempDir Path out) throws Exception {
        Assumptions.assumeTrue(
                nvccPresent(),
                "nvcc is not installed here: the checked-in fatbin was not rebuilt and compared"
                        + " (scripts/cuda/build-kernels.sh needs the CUDA toolkit)");
        Process p = new ProcessBuilder("bash", SCRIPT.toString(), out.toString())
                .redirectErrorStream(true)
                .start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(log).isZero();
        assertThat(Files.readAllBytes(out.resolve("twinserve_kernels.fatbin")))
                .as("the fatbin built from the source now; rerun scripts/cuda/build-kernels.sh and commit its output")
                .isEqualTo(CudaKernels.fatbin());
        assertThat(Files.readString(out.resolve("twinserve_kernels.ptxas.txt"))).isEqualTo(Files.readString(REPORT));
    }

    private static boolean nvccPresent() {
        try {
            Process p = new ProcessBuilder("nvcc", "--version")
                    .redirectErrorStream(true)
                    .start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
