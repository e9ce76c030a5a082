package io.twinserve.engine.tokenizer;

import java.nio.file.Path;

/** A tokenizer or tokenizer-config file that cannot be read: names the file, the field and what was expected. */
public final class TokenizerFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String field;

    public TokenizerFormatException(Path file, String field, String problem) {
        super(file + ": " + (field.isEmpty() ? "" : field + ": ") + problem);
        this.file = file;
        this.field = field;
    }

    public TokenizerFormatException(Path file, String field, String problem, Throwable cause) {
        this(file, field, problem);
        initCause(cause);
    }

    /** The file that was read. */
    public Path file() {
        return file;
    }

    /** The JSON path of the offending field, e.g. {@code model.merges[12]}; empty for the whole file. */
    public String field() {
        return field;
    }
}
