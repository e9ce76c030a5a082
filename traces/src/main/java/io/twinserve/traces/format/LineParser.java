package io.twinserve.traces.format;

/** Turns one line of a line-based format into a request; one implementation per format. */
interface LineParser {

    /** Outcome of parsing a line: a request, or nothing (header, comment, dropped record). */
    enum Kind {
        REQUEST,
        SKIP,
        DROPPED
    }

    /**
     * Parses the current line of {@code line}. Returns {@link Kind#REQUEST} after setting the fields of
     * {@code out}. Throws {@link TraceFormatException} for malformed input.
     */
    Kind parse(LineScanner line, ParsedFields out);
}
