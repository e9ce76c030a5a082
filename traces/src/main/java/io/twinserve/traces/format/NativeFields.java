package io.twinserve.traces.format;

/** Column and key names of twinserve's native CSV and JSON Lines formats, in column order. */
final class NativeFields {
    static final String ID = "id";
    static final String ARRIVAL_NS = "arrival_ns";
    static final String SESSION_ID = "session_id";
    static final String TURN = "turn";
    static final String ADAPTER = "adapter";
    static final String PROMPT_TOKENS = "prompt_tokens";
    static final String OUTPUT_TOKENS = "output_tokens";
    static final String BLOCK_SIZE = "block_size";
    static final String PREFIX_HASHES = "prefix_hashes";

    static final String[] ALL = {
        ID, ARRIVAL_NS, SESSION_ID, TURN, ADAPTER, PROMPT_TOKENS, OUTPUT_TOKENS, BLOCK_SIZE, PREFIX_HASHES
    };

    static final String CSV_HEADER = String.join(",", ALL);

    private NativeFields() {}
}
