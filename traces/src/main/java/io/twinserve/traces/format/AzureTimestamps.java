package io.twinserve.traces.format;

import java.time.DateTimeException;
import java.time.LocalDate;

/**
 * Parses the Azure traces' timestamps to nanoseconds since the epoch, straight from bytes:
 * {@code 2023-11-16 18:17:03.9799600} (2023, no zone) and {@code 2024-05-10 00:00:00.009930+00:00}
 * (2024, with an offset). A time without a zone is read as UTC.
 *
 * <p>Hand-written because {@code java.time} parsing of ten million timestamps would take longer than the
 * whole budget of {@code trace stats}. The date part is cached, since consecutive rows share it.
 */
final class AzureTimestamps {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private final byte[] cachedDate = new byte[10];
    private long cachedEpochDay = Long.MIN_VALUE;

    /** Returns the time in ns, or throws {@link IllegalArgumentException} with what was expected. */
    long parse(byte[] b, int start, int end) {
        while (start < end && b[start] == ' ') {
            start++;
        }
        while (end > start && b[end - 1] == ' ') {
            end--;
        }
        if (end - start < 19
                || b[start + 4] != '-'
                || b[start + 7] != '-'
                || (b[start + 10] != ' ' && b[start + 10] != 'T')
                || b[start + 13] != ':'
                || b[start + 16] != ':') {
            throw new IllegalArgumentException("expected a time like 2023-11-16 18:17:03.9799600");
        }
        long epochDay = epochDay(b, start);
        int hour = digits(b, start + 11, 2);
        int minute = digits(b, start + 14, 2);
        int second = digits(b, start + 17, 2);
        if (hour > 23 || minute > 59 || second > 60) {
            throw new IllegalArgumentException("expected a valid time of day (HH:MM:SS)");
        }
        int i = start + 19;
        long fractionNs = 0;
        if (i < end && b[i] == '.') {
            i++;
            int digitsRead = 0;
            long scale = 100_000_000L;
            while (i < end && b[i] >= '0' && b[i] <= '9') {
                if (digitsRead < 9) {
                    fractionNs += (b[i] - '0') * scale;
                    scale /= 10;
                }
                digitsRead++;
                i++;
            }
            if (digitsRead == 0) {
                throw new IllegalArgumentException("expected digits after the decimal point");
            }
        }
        long offsetSeconds = 0;
        if (i < end) {
            byte z = b[i];
            if (z == 'Z' && i + 1 == end) {
                i++;
            } else if ((z == '+' || z == '-') && (end - i == 6 || end - i == 5 || end - i == 3)) {
                int oh = digits(b, i + 1, 2);
                int om = end - i == 3 ? 0 : digits(b, end - 2, 2);
                offsetSeconds = (oh * 3600L + om * 60L) * (z == '+' ? 1 : -1);
                i = end;
            } else {
                throw new IllegalArgumentException("expected a zone offset like +00:00 or Z after the time");
            }
        }
        long seconds = epochDay * 86_400L + hour * 3600L + minute * 60L + second - offsetSeconds;
        return seconds * NANOS_PER_SECOND + fractionNs;
    }

    private long epochDay(byte[] b, int start) {
        boolean same = cachedEpochDay != Long.MIN_VALUE;
        for (int k = 0; same && k < 10; k++) {
            same = cachedDate[k] == b[start + k];
        }
        if (same) {
            return cachedEpochDay;
        }
        int year = digits(b, start, 4);
        int month = digits(b, start + 5, 2);
        int day = digits(b, start + 8, 2);
        if (month < 1 || month > 12 || day < 1 || day > 31) {
            throw new IllegalArgumentException("expected a valid date (YYYY-MM-DD)");
        }
        long d;
        try {
            d = LocalDate.of(year, month, day).toEpochDay();
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("expected a valid date, got day " + day + " of month " + month);
        }
        System.arraycopy(b, start, cachedDate, 0, 10);
        cachedEpochDay = d;
        return d;
    }

    private static int digits(byte[] b, int at, int n) {
        int v = 0;
        for (int k = 0; k < n; k++) {
            int d = b[at + k] - '0';
            if (d < 0 || d > 9) {
                throw new IllegalArgumentException("expected a digit at position " + (k + 1) + " of a field");
            }
            v = v * 10 + d;
        }
        return v;
    }
}
