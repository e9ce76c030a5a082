package io.twinserve.traces.spec;

import java.nio.file.Path;

/**
 * A workload spec that is invalid: names the file and line when known, the key path
 * ({@code lengths.prompt.std}), what was wrong and what is allowed.
 */
public final class SpecException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final int line;
    private final String keyPath;
    private final String problem;

    /** Thrown by a spec record: {@code keyPath} is relative to that record. */
    public SpecException(String keyPath, String problem) {
        this(null, 0, keyPath, problem);
    }

    public SpecException(Path file, int line, String keyPath, String problem) {
        super(compose(file, line, keyPath, problem));
        this.file = file;
        this.line = line;
        this.keyPath = keyPath;
        this.problem = problem;
    }

    /** The same error placed under a parent key and in a file. */
    public SpecException within(Path newFile, int newLine, String parentPath) {
        String path = parentPath == null || parentPath.isEmpty()
                ? keyPath
                : keyPath == null || keyPath.isEmpty()
                        ? parentPath
                        : keyPath.startsWith("[") ? parentPath + keyPath : parentPath + "." + keyPath;
        return new SpecException(newFile != null ? newFile : file, newLine > 0 ? newLine : line, path, problem);
    }

    public String keyPath() {
        return keyPath;
    }

    public String problem() {
        return problem;
    }

    public Path file() {
        return file;
    }

    public int line() {
        return line;
    }

    private static String compose(Path file, int line, String keyPath, String problem) {
        StringBuilder b = new StringBuilder();
        if (file != null) {
            b.append(file);
            if (line > 0) {
                b.append(':').append(line);
            }
            b.append(": ");
        }
        if (keyPath != null && !keyPath.isEmpty()) {
            b.append(keyPath).append(' ');
        }
        return b.append(problem).toString();
    }
}
