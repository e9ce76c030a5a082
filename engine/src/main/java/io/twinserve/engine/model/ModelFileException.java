package io.twinserve.engine.model;

import java.nio.file.Path;

/** A model or adapter file that cannot be used: says which file, which tensor or field, and what was expected. */
public final class ModelFileException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final Path file;

    public ModelFileException(Path file, String message) {
        super(file + ": " + message);
        this.file = file;
    }

    public ModelFileException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
