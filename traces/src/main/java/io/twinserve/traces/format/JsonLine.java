package io.twinserve.traces.format;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/** Reads the fields of one JSON object that fills one line, with errors that name line and column. */
final class JsonLine {
    private static final JsonFactory FACTORY = new JsonFactory();

    private final Path file;
    private JsonParser parser;
    private long lineNumber;
    private long[] scratch = new long[64];

    JsonLine(Path file) {
        this.file = file;
    }

    /** Opens the line; the next call to {@link #nextField()} returns the first key. */
    void open(LineScanner line) {
        lineNumber = line.lineNumber();
        try {
            parser = FACTORY.createParser(line.buffer(), line.start(), line.end() - line.start());
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw error("expected a JSON object per line, got '" + abbreviate(line.lineText()) + "'");
            }
        } catch (IOException e) {
            throw syntax(e);
        }
    }

    /** The next key of the object, or null at its end. */
    String nextField() {
        try {
            JsonToken t = parser.nextToken();
            if (t == JsonToken.END_OBJECT) {
                if (parser.nextToken() != null) {
                    throw error("expected one JSON object per line, found more after it");
                }
                return null;
            }
            String name = parser.currentName();
            parser.nextToken();
            return name;
        } catch (IOException e) {
            throw syntax(e);
        }
    }

    boolean isNull() {
        return parser.currentToken() == JsonToken.VALUE_NULL;
    }

    void skipValue() {
        try {
            parser.skipChildren();
        } catch (IOException e) {
            throw syntax(e);
        }
    }

    long longValue(String key) {
        JsonToken t = parser.currentToken();
        try {
            if (t == JsonToken.VALUE_NUMBER_INT) {
                return parser.getLongValue();
            }
            if (t == JsonToken.VALUE_NUMBER_FLOAT) {
                double d = parser.getDoubleValue();
                if (d == Math.rint(d) && Math.abs(d) < 9e18) {
                    return (long) d;
                }
            }
            throw error(key + ": expected an integer, got " + describe());
        } catch (IOException e) {
            throw syntax(e);
        }
    }

    double doubleValue(String key) {
        JsonToken t = parser.currentToken();
        try {
            if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT) {
                return parser.getDoubleValue();
            }
            throw error(key + ": expected a number, got " + describe());
        } catch (IOException e) {
            throw syntax(e);
        }
    }

    int nonNegativeInt(String key) {
        long v = longValue(key);
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw error(key + ": expected a non-negative integer, got " + v);
        }
        return (int) v;
    }

    String stringValue(String key) {
        try {
            if (parser.currentToken() != JsonToken.VALUE_STRING) {
                throw error(key + ": expected a string, got " + describe());
            }
            return parser.getText();
        } catch (IOException e) {
            throw syntax(e);
        }
    }

    long[] longArray(String key) {
        try {
            if (parser.currentToken() != JsonToken.START_ARRAY) {
                throw error(key + ": expected an array of integers, got " + describe());
            }
            int n = 0;
            JsonToken t;
            while ((t = parser.nextToken()) != JsonToken.END_ARRAY) {
                if (t != JsonToken.VALUE_NUMBER_INT) {
                    throw error(key + "[" + n + "]: expected an integer, got " + describe());
                }
                if (n == scratch.length) {
                    scratch = Arrays.copyOf(scratch, n * 2);
                }
                scratch[n++] = parser.getLongValue();
            }
            return Arrays.copyOf(scratch, n);
        } catch (IOException e) {
            throw syntax(e);
        }
    }

    private String describe() throws IOException {
        JsonToken t = parser.currentToken();
        return switch (t) {
            case VALUE_STRING -> "\"" + abbreviate(parser.getText()) + "\"";
            case START_ARRAY -> "an array";
            case START_OBJECT -> "an object";
            case null -> "nothing";
            default -> parser.getText();
        };
    }

    TraceFormatException error(String problem) {
        int column = parser == null ? 0 : parser.currentTokenLocation().getColumnNr();
        return new TraceFormatException(file, lineNumber, Math.max(column, 0), problem);
    }

    private TraceFormatException syntax(IOException e) {
        if (e instanceof JsonParseException p) {
            return new TraceFormatException(
                    file,
                    lineNumber,
                    Math.max(0, p.getLocation().getColumnNr()),
                    "invalid JSON: " + p.getOriginalMessage());
        }
        return new TraceFormatException(file, lineNumber, 0, "cannot read JSON: " + e.getMessage());
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
