package io.twinserve.traces.spec;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.InvalidTypeIdException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads workload specs from YAML (or JSON) into validated {@link WorkloadSpec}s. Every error becomes a
 * {@link SpecException} naming the file, line and key path, with a suggestion for misspelled keys.
 */
public final class WorkloadSpecs {
    private static final ObjectMapper YAML =
            configure(YAMLMapper.builder(new YAMLFactory()).build());

    private WorkloadSpecs() {}

    /** The mapper for spec records (snake_case keys, unknown keys rejected). */
    public static ObjectMapper configure(ObjectMapper mapper) {
        mapper.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
        mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        mapper.enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        // 1.5 requests, 2.5 adapters or tp 1.5 are errors, not 1, 2 and 1
        mapper.disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        return mapper;
    }

    public static WorkloadSpec load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such workload spec file");
        }
        return parse(readText(file), file);
    }

    /**
     * Reads a spec file as UTF-8; bytes that are not UTF-8 are a {@link SpecException} naming the file,
     * the line and the byte offset (not a bare {@code MalformedInputException} without the file).
     */
    public static String readText(Path file) throws IOException {
        return decode(Files.readAllBytes(file), file);
    }

    /** Decodes a spec's bytes as strict UTF-8; {@code file} is used only in messages. */
    public static String decode(byte[] bytes, Path file) {
        CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            return decoder.decode(in).toString();
        } catch (CharacterCodingException e) {
            // decode() leaves the buffer at the start of the malformed sequence
            int offset = in.position();
            int line = 1;
            for (int i = 0; i < offset; i++) {
                if (bytes[i] == '\n') {
                    line++;
                }
            }
            throw new SpecException(
                    file,
                    line,
                    "",
                    String.format(
                            Locale.ROOT,
                            "is not valid UTF-8: byte 0x%02x at offset %d does not start or continue a UTF-8 "
                                    + "character; save the file as UTF-8",
                            bytes[Math.min(offset, bytes.length - 1)] & 0xff,
                            offset));
        }
    }

    /** Parses YAML text; {@code file} is used only in messages. */
    public static WorkloadSpec parse(String yaml, Path file) {
        return parse(yaml, file, WorkloadSpec.class);
    }

    /** Parses any spec record type with the same error handling (later modules reuse it). */
    public static <T> T parse(String yaml, Path file, Class<T> type) {
        if (yaml.isBlank()) {
            throw new SpecException(
                    file, 0, "", "the spec is empty; expected a YAML mapping (see docs/workload-spec.md)");
        }
        try {
            T spec = YAML.readValue(yaml, type);
            if (spec == null) {
                throw new SpecException(file, 0, "", "the spec is empty; expected a YAML mapping");
            }
            return spec;
        } catch (JsonMappingException e) {
            if (!(e instanceof UnrecognizedPropertyException)) {
                // a record's own check runs before Jackson reports the unknown keys it set aside, so a misspelt key
                // would surface as the check it upset ("adapters.count is 0" for "adaptors:"): the key comes first
                SpecException unknown = SpecKeyAudit.unknownKey(YAML, yaml, file, type);
                if (unknown != null) {
                    throw withKindHint(unknown, yaml, type);
                }
            }
            SpecException translated = withKindHint(translate(e, file), yaml, type);
            int line = lineOfKey(yaml, translated.keyPath());
            throw line > 0
                    ? new SpecException(
                            file, line, translated.keyPath(), translated.problem() + foldedHint(e, yaml, line))
                    : translated;
        } catch (InputCoercionException e) {
            int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            String where = e.getProcessor() instanceof JsonParser p ? path(p.getParsingContext()) : "";
            throw new SpecException(file, line, where, outOfRange(e));
        } catch (JsonProcessingException e) {
            int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            throw new SpecException(file, line, "", "is not valid YAML: " + firstLine(e.getOriginalMessage()));
        }
    }

    /**
     * An unknown key at the top level of a file that looks like another kind of spec says so (a workload spec
     * given where a capacity spec goes); other errors stay as they are.
     */
    private static SpecException withKindHint(SpecException e, String yaml, Class<?> type) {
        if (e.keyPath() == null
                || e.keyPath().isEmpty()
                || e.keyPath().contains(".")
                || !e.problem().startsWith("is not a known key")) {
            return e;
        }
        String hint = SpecKinds.hint(YAML, yaml, type);
        return hint.isEmpty() ? e : new SpecException(e.file(), e.line(), e.keyPath(), e.problem() + hint);
    }

    /**
     * A hint when a value Jackson could not read is not on its key's line: YAML folded the next line into it (that
     * line is indented further than its key, or the key's line opens a '{' or '[' it does not close), which is a
     * layout mistake rather than a wrong value. Empty otherwise.
     */
    private static String foldedHint(JsonMappingException e, String yaml, int line) {
        if (!(e instanceof InvalidFormatException f) || !(f.getValue() instanceof String v) || !v.contains(" ")) {
            return "";
        }
        String[] lines = yaml.split("\n", -1);
        if (line > lines.length || lines[line - 1].contains(v)) {
            return "";
        }
        return "; the value runs on into line " + (line + 1) + " (YAML joins a line indented further than its key to"
                + " the value above it, as it does the lines after an unclosed '{' or '['): check the indentation of"
                + " line " + (line + 1) + " and the brackets of line " + line;
    }

    /**
     * The line of the deepest key of {@code keyPath} found in the text, following the path from parent to
     * child; 0 when not even the first key is found. Jackson reports errors of record creators at the
     * end of the mapping, so the text is a better guide to where a key is.
     */
    static int lineOfKey(String yaml, String keyPath) {
        if (keyPath == null || keyPath.isEmpty()) {
            return 0;
        }
        int from = 0;
        int found = -1;
        for (String segment : keyPath.split("\\.")) {
            String key = segment.replaceAll("\\[\\d+]", "");
            if (key.isEmpty()) {
                continue;
            }
            Matcher m = Pattern.compile("(?m)(^|[\\s{,])" + Pattern.quote(key) + "\\s*:")
                    .matcher(yaml);
            if (!m.find(from)) {
                break;
            }
            found = m.end();
            from = found;
        }
        if (found < 0) {
            return 0;
        }
        int line = 1;
        for (int i = 0; i < found; i++) {
            if (yaml.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    static SpecException translate(JsonMappingException e, Path file) {
        int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
        List<JsonMappingException.Reference> refs = e.getPath();
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof SpecException se) {
                return se.within(file, line, path(refs, refs.size()));
            }
        }
        if (e instanceof UnrecognizedPropertyException u) {
            String key = u.getPropertyName();
            Collection<String> known = new ArrayList<>();
            for (Object o : u.getKnownPropertyIds()) {
                known.add(String.valueOf(o));
            }
            known.remove("type");
            return new SpecException(
                    file,
                    line,
                    path(refs, refs.size()),
                    "is not a known key" + KeySuggestions.didYouMean(key, known)
                            + (known.isEmpty()
                                    ? ""
                                    : "; expected one of "
                                            + String.join(
                                                    ", ",
                                                    known.stream().sorted().toList())));
        }
        if (e instanceof InvalidTypeIdException t) {
            List<String> names = subtypeNames(t.getBaseType().getRawClass());
            String where = path(refs, refs.size());
            String typePath = where.isEmpty() ? "type" : where + ".type";
            if (t.getTypeId() == null) {
                return new SpecException(
                        file, line, typePath, "is required; expected one of " + String.join(", ", names));
            }
            return new SpecException(
                    file,
                    line,
                    typePath,
                    "'" + t.getTypeId() + "' is not a known type" + KeySuggestions.didYouMean(t.getTypeId(), names)
                            + "; expected one of " + String.join(", ", names));
        }
        if (e instanceof InvalidFormatException f) {
            return new SpecException(
                    file,
                    line,
                    path(refs, refs.size()),
                    "expected " + describe(f.getTargetType()) + ", got '" + f.getValue() + "'");
        }
        if (e instanceof MismatchedInputException m && m.getTargetType() != null) {
            String original = m.getOriginalMessage();
            String got = original.contains("from Array value")
                    ? ", got a list"
                    : original.contains("from Object value")
                            ? ", got a mapping"
                            : original.contains("from String value")
                                    ? ", got a string"
                                    : original.contains("No content") || original.contains("null")
                                            ? ", got nothing"
                                            : "";
            return new SpecException(
                    file,
                    line,
                    path(refs, refs.size()),
                    "expected " + describe(m.getTargetType())
                            + (got.isEmpty() ? " (" + original.split("\n")[0] + ")" : got));
        }
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof InputCoercionException range) {
                return new SpecException(file, line, path(refs, refs.size()), outOfRange(range));
            }
            if (c instanceof StreamReadException syntax) {
                int at = syntax.getLocation() == null
                        ? line
                        : syntax.getLocation().getLineNr();
                return new SpecException(file, at, "", "is not valid YAML: " + firstLine(syntax.getOriginalMessage()));
            }
        }
        return new SpecException(file, line, path(refs, refs.size()), firstLine(e.getOriginalMessage()));
    }

    /** The key path of a parser's position, {@code lengths.max_output} or {@code adapters.ranks[2]}. */
    private static String path(JsonStreamContext context) {
        List<String> parts = new ArrayList<>();
        for (JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
            if (c.inObject() && c.getCurrentName() != null) {
                parts.add(0, "." + c.getCurrentName());
            } else if (c.inArray()) {
                parts.add(0, "[" + Math.max(0, c.getCurrentIndex()) + "]");
            }
        }
        String joined = String.join("", parts);
        return joined.startsWith(".") ? joined.substring(1) : joined;
    }

    private static String outOfRange(InputCoercionException e) {
        Class<?> type = e.getTargetType();
        return "expected " + describe(type) + " from " + minOf(type) + " to " + maxOf(type)
                + ", got a number out of that range";
    }

    private static String minOf(Class<?> type) {
        return type == Long.class || type == long.class
                ? String.valueOf(Long.MIN_VALUE)
                : String.valueOf(Integer.MIN_VALUE);
    }

    private static String maxOf(Class<?> type) {
        return type == Long.class || type == long.class
                ? String.valueOf(Long.MAX_VALUE)
                : String.valueOf(Integer.MAX_VALUE);
    }

    private static String firstLine(String message) {
        return message == null ? "unknown error" : message.split("\n")[0].strip();
    }

    private static String path(List<JsonMappingException.Reference> refs, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            JsonMappingException.Reference r = refs.get(i);
            if (r.getFieldName() != null) {
                if (!b.isEmpty()) {
                    b.append('.');
                }
                b.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.toString();
    }

    private static List<String> subtypeNames(Class<?> base) {
        JsonSubTypes types = base.getAnnotation(JsonSubTypes.class);
        List<String> names = new ArrayList<>();
        if (types != null) {
            for (JsonSubTypes.Type t : types.value()) {
                names.add(t.name());
            }
        }
        return names;
    }

    private static String describe(Class<?> type) {
        if (type == Double.class || type == double.class) {
            return "a number";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "an integer";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a string";
        }
        if (List.class.isAssignableFrom(type)) {
            return "a list";
        }
        if (type.isEnum()) {
            List<String> names = new ArrayList<>();
            for (Object c : type.getEnumConstants()) {
                names.add(c.toString().toLowerCase(Locale.ROOT));
            }
            return "one of " + String.join(", ", names);
        }
        if (type.isRecord() || type.isInterface()) {
            return "a mapping";
        }
        return type.getSimpleName();
    }
}
