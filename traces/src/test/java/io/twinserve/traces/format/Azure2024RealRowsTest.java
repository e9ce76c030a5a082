package io.twinserve.traces.format;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Request;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The 2024 Azure traces' timestamps (6 digits and a UTC offset), on their real first rows. */
class Azure2024RealRowsTest {

    private static List<Request> read(String name) throws Exception {
        Path file = Path.of(
                Azure2024RealRowsTest.class.getResource("/traces/azure/" + name).toURI());
        assertThat(TraceReaders.detect(file)).isEqualTo(TraceFormat.AZURE);
        List<Request> out = new ArrayList<>();
        try (TraceReader r = TraceReaders.open(file, ReadOptions.defaults())) {
            Request q;
            while ((q = r.next()) != null) {
                out.add(q);
            }
        }
        return out;
    }

    @Test
    void readsTheRealCodeTrace2024WithOffsetsRebasedToTheFirstRequest() throws Exception {
        List<Request> rs = read("AzureLLMInferenceTrace_code_1week_head5.csv");
        // 00.009930 is the origin; the others are microseconds after it
        assertThat(rs)
                .extracting(Request::arrivalNs)
                .containsExactly(0L, 7_405_000L, 12_384_000L, 27_915_000L, 73_960_000L);
        assertThat(rs).extracting(Request::promptTokens).containsExactly(2162, 2399, 76, 2376, 7670);
        assertThat(rs).extracting(Request::outputTokens).containsExactly(5, 6, 15, 1, 8);
    }

    @Test
    void readsTheRealConversationTrace2024() throws Exception {
        List<Request> rs = read("AzureLLMInferenceTrace_conv_1week_head5.csv");
        assertThat(rs)
                .extracting(Request::arrivalNs)
                .containsExactly(0L, 40_520_000L, 156_825_000L, 157_769_000L, 247_116_000L);
        assertThat(rs).extracting(Request::outputTokens).containsExactly(3, 3, 38, 3, 104);
    }

    @Test
    void offsetsShiftTheClockToUtc() {
        AzureTimestamps t = new AzureTimestamps();
        byte[] utc = "2024-05-10 02:00:00.5+00:00".getBytes();
        byte[] plusTwo = "2024-05-10 04:00:00.5+02:00".getBytes();
        byte[] zulu = "2024-05-10T02:00:00.5Z".getBytes();
        long expected = t.parse(utc, 0, utc.length);
        assertThat(t.parse(plusTwo, 0, plusTwo.length)).isEqualTo(expected);
        assertThat(t.parse(zulu, 0, zulu.length)).isEqualTo(expected);
        assertThat(expected % 1_000_000_000L).isEqualTo(500_000_000L);
    }
}
