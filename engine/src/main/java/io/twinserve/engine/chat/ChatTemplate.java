package io.twinserve.engine.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.CollectionTooBigException;
import com.hubspot.jinjava.interpret.OutputTooBigException;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.twinserve.engine.tokenizer.TokenizerFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import jinjava.javax.el.CompositeELResolver;

/**
 * A model's chat template from {@code tokenizer_config.json}, rendered with Jinjava under the variables
 * and Python behaviours Hugging Face's {@code apply_chat_template} provides.
 */
public final class ChatTemplate {
    private static final ObjectMapper JSON = new ObjectMapper();

    /*
     * Rendering bounds, far above what a real prompt needs (a 1 M-token context is about 4 M characters), so a
     * broken or hostile template is refused with a ChatTemplateException instead of exhausting the heap:
     * fuzzing found a 1 KiB template that took a 1 GiB JVM to an OutOfMemoryError.
     */
    static final long MAX_OUTPUT_CHARS = 16L << 20;
    static final long MAX_STRING_CHARS = 16L << 20;
    static final int MAX_COLLECTION_SIZE = 100_000;
    static final int MAX_RANGE = 10_000;
    static final int MAX_RENDER_DEPTH = 10;

    /** Refuses a string the template is about to build when it would be longer than {@link #MAX_STRING_CHARS}. */
    static void checkStringLength(long chars, String what) {
        if (chars > MAX_STRING_CHARS) {
            throw new ChatTemplateException("chat template refused: " + what + " would build a string of " + chars
                    + " characters, over the limit of " + MAX_STRING_CHARS);
        }
    }

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    /**
     * @param source the Jinja template as written by the model's authors
     * @param bosToken the beginning-of-sequence token text, or null when the model has none
     * @param eosToken the end-of-sequence token text, or null when the model has none
     */
    public ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = Objects.requireNonNull(source, "source");
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.jinjava = newJinjava();
    }

    /**
     * Reads {@code chat_template} (a string, or a list of {@code {name, template}} where "default" is used),
     * {@code bos_token} and {@code eos_token} (strings or objects with {@code content}); a
     * {@code chat_template.jinja} beside the file is used when the config has no template.
     */
    public static ChatTemplate load(Path tokenizerConfigJson) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(tokenizerConfigJson);
        } catch (IOException e) {
            throw new TokenizerFormatException(tokenizerConfigJson, "", "cannot read: " + e.getMessage(), e);
        }
        return parse(bytes, tokenizerConfigJson);
    }

    /**
     * Parses {@code tokenizer_config.json} bytes as {@link #load} reads them; {@code tokenizerConfigJson}
     * names the file in messages and locates a {@code chat_template.jinja} beside it.
     */
    public static ChatTemplate parse(byte[] bytes, Path tokenizerConfigJson) {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new TokenizerFormatException(tokenizerConfigJson, "", "cannot read as JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new TokenizerFormatException(tokenizerConfigJson, "", "expected a JSON object");
        }
        String template = templateSource(tokenizerConfigJson, root.path("chat_template"));
        return new ChatTemplate(
                template,
                tokenText(tokenizerConfigJson, root, "bos_token"),
                tokenText(tokenizerConfigJson, root, "eos_token"));
    }

    private static String templateSource(Path file, JsonNode node) {
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isArray()) {
            String first = null;
            for (int i = 0; i < node.size(); i++) {
                JsonNode entry = node.get(i);
                if (!entry.path("name").isTextual() || !entry.path("template").isTextual()) {
                    throw new TokenizerFormatException(
                            file, "chat_template[" + i + "]", "expected {\"name\": string, \"template\": string}");
                }
                if (entry.path("name").asText().equals("default")) {
                    return entry.path("template").asText();
                }
                first = first == null ? entry.path("template").asText() : first;
            }
            if (first != null) {
                return first;
            }
        }
        Path beside = file.resolveSibling("chat_template.jinja");
        if ((node.isMissingNode() || node.isNull()) && Files.isRegularFile(beside)) {
            try {
                return Files.readString(beside);
            } catch (IOException e) {
                throw new TokenizerFormatException(beside, "", "cannot read: " + e.getMessage(), e);
            }
        }
        throw new TokenizerFormatException(
                file,
                "chat_template",
                "expected a template string or a list of {name, template}, got "
                        + (node.isMissingNode() ? "nothing" : node.getNodeType().toString()));
    }

    private static String tokenText(Path file, JsonNode root, String field) {
        JsonNode node = root.path(field);
        if (node.isMissingNode() || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.path("content").isTextual()) {
            return node.path("content").asText();
        }
        throw new TokenizerFormatException(file, field, "expected a string or an object with \"content\", got " + node);
    }

    private static Jinjava newJinjava() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethodResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        // Hugging Face renders with trim_blocks and lstrip_blocks (transformers' chat template utilities).
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .withFailOnUnknownTokens(false)
                // Python's Jinja never renders an expression's output again; Jinjava does by default, so a message
                // containing "{{ ... }}" ran as template code, and output that rendered itself grew without bound.
                .withNestedInterpretationEnabled(false)
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .withMaxStringLength(MAX_STRING_CHARS)
                .withMaxListSize(MAX_COLLECTION_SIZE)
                .withMaxMapSize(MAX_COLLECTION_SIZE)
                .withRangeLimit(MAX_RANGE)
                .withMaxRenderDepth(MAX_RENDER_DEPTH)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        // without it Jinjava ignores the '-' of {{- and -}}, which every HF template relies on
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerTag(new PreviousItemForTag());
        jinjava.getGlobalContext().registerFilter(new PythonJsonFilter());
        for (String widthFilter : List.of("center", "indent", "wordwrap", "format")) {
            jinjava.getGlobalContext()
                    .registerFilter(
                            new WidthLimitingFilter(jinjava.getGlobalContext().getFilter(widthFilter)));
        }
        jinjava.getGlobalContext()
                .registerFunction(new ELFunctionDefinition(
                        "", "raise_exception", TemplateFunctions.class, "raiseException", String.class));
        jinjava.getGlobalContext()
                .registerFunction(new ELFunctionDefinition(
                        "", "strftime_now", TemplateFunctions.class, "strftimeNow", String.class));
        return jinjava;
    }

    /** Renders the conversation; with {@code addGenerationPrompt} the text ends where the assistant's reply starts. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * Renders with extra template variables, e.g. {@code enable_thinking=false} for Qwen3.
     *
     * @throws ChatTemplateException with the template's own message when it calls {@code raise_exception}
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, Object> extraVariables) {
        List<Map<String, Object>> messageMaps = new ArrayList<>(messages.size());
        for (ChatMessage message : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", message.role());
            map.put("content", message.content());
            messageMaps.add(map);
        }
        Map<String, Object> variables = new HashMap<>(extraVariables);
        variables.put("messages", messageMaps);
        variables.put("add_generation_prompt", addGenerationPrompt);
        // "strftime_now is defined" must hold, as it does in Python where the function is a global.
        variables.putIfAbsent("strftime_now", "strftime_now");
        if (bosToken != null) {
            variables.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            variables.put("eos_token", eosToken);
        }
        RenderResult result;
        try {
            result = jinjava.renderForResult(TemplateSourceRewriter.rewrite(source), variables);
        } catch (RuntimeException e) {
            throw raisedOr(e, "chat template failed: " + e.getMessage());
        }
        for (TemplateError error : result.getErrors()) {
            String exceeded = exceededLimit(error);
            if (exceeded != null) {
                throw new ChatTemplateException(
                        "chat template refused" + (error.getLineno() > 0 ? " at line " + error.getLineno() : "") + ": "
                                + exceeded,
                        error.getException());
            }
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw raisedOr(
                        error.getException(),
                        "chat template failed at line " + error.getLineno() + ": " + error.getMessage());
            }
        }
        // Jinja drops one trailing newline of the template (keep_trailing_newline=False).
        String output = result.getOutput();
        return source.endsWith("\n") && output.endsWith("\n") ? output.substring(0, output.length() - 1) : output;
    }

    /** What a rendering bound refused, or null when the error is not about a bound. */
    private static String exceededLimit(TemplateError error) {
        if (error.getReason() == null) {
            return null;
        }
        return switch (error.getReason()) {
            case OUTPUT_TOO_BIG ->
                "its output exceeds the limit of " + MAX_OUTPUT_CHARS + " characters (" + error.getMessage() + ")";
            case COLLECTION_TOO_BIG ->
                "a list or map exceeds the limit of " + MAX_COLLECTION_SIZE + " entries (" + error.getMessage() + ")";
            case OVER_LIMIT ->
                "a rendering limit (" + MAX_STRING_CHARS + " characters per string, range() of at most " + MAX_RANGE
                        + ", nesting depth " + MAX_RENDER_DEPTH + ") was exceeded: " + error.getMessage();
            default -> null;
        };
    }

    private static ChatTemplateException raisedOr(Throwable error, String otherwise) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof TemplateFunctions.RaisedByTemplate raised) {
                return new ChatTemplateException(raised.getMessage(), raised);
            }
            if (cause instanceof ChatTemplateException refused) {
                return refused;
            }
            if (cause instanceof OutputTooBigException) {
                return new ChatTemplateException(
                        "chat template refused: its output exceeds the limit of " + MAX_OUTPUT_CHARS + " characters",
                        cause);
            }
            if (cause instanceof CollectionTooBigException tooBig) {
                return new ChatTemplateException(
                        "chat template refused: a list or map of " + tooBig.getSize() + " entries exceeds the limit of "
                                + tooBig.getMaxSize(),
                        cause);
            }
        }
        return new ChatTemplateException(otherwise, error);
    }

    /** The template source as read. */
    public String source() {
        return source;
    }
}
