package io.twinserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of {@code .safetensors} files (the 8-byte header length, the JSON header and the
 * offsets): a file either opens with every tensor inside it, or fails with a {@link ModelFileException}
 * naming the file. A header length that would allocate gigabytes, an offset past the end or a shape whose
 * size overflows are crashes unless refused this way.
 */
class SafeTensorsHeaderFuzzTest {
    private static final Path FILE = Path.of("fuzzed.safetensors");

    @FuzzTest(maxDuration = "10s")
    void opensOrRefusesNamingTheFile(byte[] input) {
        MemorySegment whole = MemorySegment.ofArray(input);
        try {
            SafeTensorsFile file = SafeTensorsFile.parse(FILE, whole);
            for (SafeTensorsFile.Entry e : file.entries().values()) {
                assertThat(e.begin()).isNotNegative();
                assertThat(e.end()).isBetween(e.begin(), (long) input.length);
                assertThat(file.bytes(e).byteSize())
                        .isEqualTo(e.elements() * e.dtype().bytes());
            }
        } catch (ModelFileException e) {
            assertThat(e.file()).isEqualTo(FILE);
        }
    }
}
