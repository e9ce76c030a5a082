package io.twinserve.placement;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.spec.SpecException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A sweep spec that is not UTF-8 is refused naming the file, the line and the byte offset. */
class InvalidUtf8SweepSpecTest {
    @Test
    void sweepSpecWithALatin1ByteNamesTheFileLineAndOffset(@TempDir Path dir) throws IOException {
        Path file = Files.write(
                dir.resolve("grid.yaml"), "# spec\nname: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> Sweeps.read(file))
                .isInstanceOf(SpecException.class)
                .hasMessageStartingWith(file + ":2: ")
                .hasMessageContaining("is not valid UTF-8: byte 0xe9 at offset 16");
    }
}
