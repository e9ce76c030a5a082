package io.twinserve.traces.format;

/**
 * How to read a trace file.
 *
 * @param format the format, or null to detect it from the content and extension
 * @param skipBad skip malformed lines (and count them) instead of failing on the first
 * @param keepFailed keep BurstGPT's failed requests (0 response tokens) as requests with one output
 *     token instead of dropping them
 * @param unordered accept timestamps in any order and keep the source's clock (no rebasing to the first
 *     request); for callers that sort afterwards
 */
public record ReadOptions(TraceFormat format, boolean skipBad, boolean keepFailed, boolean unordered) {

    public static ReadOptions defaults() {
        return new ReadOptions(null, false, false, false);
    }

    public ReadOptions withFormat(TraceFormat f) {
        return new ReadOptions(f, skipBad, keepFailed, unordered);
    }

    public ReadOptions withSkipBad(boolean skip) {
        return new ReadOptions(format, skip, keepFailed, unordered);
    }

    public ReadOptions withUnordered(boolean any) {
        return new ReadOptions(format, skipBad, keepFailed, any);
    }
}
