package io.twinserve.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads a Hugging Face {@code tokenizer.json} into the parts of a {@link Tokenizer}, naming the field of any
 * error.
 *
 * <p>Over 400 lines because it follows tokenizer.json's sections (normalizer, pre-tokenizer, model, decoder,
 * added tokens), one reader each.
 */
final class TokenizerJsonReader {
    /*
     * Token ids index arrays sized by the largest id: an id of 2^31 - 1 in a 1 KiB file took the heap (found by
     * fuzzing). The largest real vocabularies have about 262 k tokens (Gemma 3); 16 Mi leaves ample room.
     */
    static final int MAX_TOKEN_ID = 1 << 24;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;

    private TokenizerJsonReader(Path file) {
        this.file = file;
    }

    static Tokenizer read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new TokenizerFormatException(file, "", "cannot read: " + e.getMessage(), e);
        }
        return parse(bytes, file);
    }

    static Tokenizer parse(byte[] bytes, Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new TokenizerFormatException(file, "", "cannot read as JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new TokenizerFormatException(file, "", "expected a JSON object");
        }
        return new TokenizerJsonReader(file).tokenizer(root);
    }

    private Tokenizer tokenizer(JsonNode root) {
        JsonNode model = require(root, "model", "model");
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw error(
                    "model.type",
                    "unsupported model type " + type + "; only BPE is supported (not WordPiece, Unigram or WordLevel)");
        }
        Map<String, Integer> vocab = vocab(require(model, "vocab", "model.vocab"));
        List<AddedToken> addedTokens = addedTokens(root.path("added_tokens"));
        BytePairModel bytePairModel = model(model, vocab);
        int size = 0;
        for (int id : vocab.values()) {
            size = Math.max(size, id + 1);
        }
        for (AddedToken token : addedTokens) {
            size = Math.max(size, token.id() + 1);
        }
        String[] tokens = new String[size];
        Map<String, Integer> tokenIds = new HashMap<>(vocab);
        vocab.forEach((token, id) -> tokens[id] = token);
        boolean[] special = new boolean[size];
        for (AddedToken token : addedTokens) {
            tokens[token.id()] = token.content();
            tokenIds.put(token.content(), token.id());
            special[token.id()] = token.special();
        }
        SpecialTokenTemplate template = postProcessor(root.path("post_processor"), "post_processor", tokenIds);
        // an id past the vocabulary would be encoded, then refused by decode (the long fuzz run found it)
        for (int[] ids : new int[][] {template.prefixIds(), template.suffixIds()}) {
            for (int id : ids) {
                if (id < 0 || id >= size) {
                    throw error("post_processor", "token id " + id + " is outside the vocabulary [0, " + size + ")");
                }
            }
        }
        return new Tokenizer(
                file,
                bytePairModel,
                normalizer(root.path("normalizer"), "normalizer"),
                preTokenizer(root.path("pre_tokenizer"), "pre_tokenizer"),
                decoder(root.path("decoder")),
                template,
                new AddedTokenSplitter(addedTokens),
                tokens,
                tokenIds,
                special);
    }

    private Map<String, Integer> vocab(JsonNode vocab) {
        if (!vocab.isObject()) {
            throw error("model.vocab", "expected an object of token to id, got " + vocab.getNodeType());
        }
        Map<String, Integer> result = new HashMap<>(vocab.size() * 2);
        for (Map.Entry<String, JsonNode> entry : vocab.properties()) {
            if (!entry.getValue().canConvertToInt()
                    || entry.getValue().asInt() < 0
                    || entry.getValue().asInt() >= MAX_TOKEN_ID) {
                throw error(
                        "model.vocab[\"" + entry.getKey() + "\"]",
                        "expected an integer id from 0 to " + (MAX_TOKEN_ID - 1) + ", got " + entry.getValue());
            }
            result.put(entry.getKey(), entry.getValue().asInt());
        }
        return result;
    }

    private BytePairModel model(JsonNode model, Map<String, Integer> vocab) {
        for (String field : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            String value = model.path(field).asText("");
            if (!value.isEmpty()) {
                throw error("model." + field, "unsupported value \"" + value + "\"; expected null or \"\"");
            }
        }
        JsonNode merges = require(model, "merges", "model.merges");
        if (!merges.isArray()) {
            throw error("model.merges", "expected an array of merges, got " + merges.getNodeType());
        }
        PairTable pairs = new PairTable(merges.size());
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] pair = merge(merges.get(rank), "model.merges[" + rank + "]");
            String field = "model.merges[" + rank + "]";
            Integer left = vocab.get(pair[0]);
            Integer right = vocab.get(pair[1]);
            Integer merged = vocab.get(pair[0] + pair[1]);
            if (left == null || right == null || merged == null) {
                String missing = left == null ? pair[0] : right == null ? pair[1] : pair[0] + pair[1];
                throw error(field, "token \"" + missing + "\" is not in model.vocab");
            }
            pairs.put(left, right, rank, merged);
        }
        int[] byteFallbackIds = null;
        if (model.path("byte_fallback").asBoolean(false)) {
            byteFallbackIds = new int[256];
            for (int b = 0; b < 256; b++) {
                Integer id = vocab.get(String.format("<0x%02X>", b));
                if (id == null) {
                    throw error(
                            "model.byte_fallback",
                            "is true but token <0x" + String.format("%02X", b) + "> is not in model.vocab");
                }
                byteFallbackIds[b] = id;
            }
        }
        int unknownId = -1;
        JsonNode unknown = model.path("unk_token");
        if (unknown.isTextual()) {
            Integer id = vocab.get(unknown.asText());
            if (id == null) {
                throw error("model.unk_token", "token \"" + unknown.asText() + "\" is not in model.vocab");
            }
            unknownId = id;
        }
        return new BytePairModel(
                vocab,
                pairs,
                byteFallbackIds,
                unknownId,
                model.path("fuse_unk").asBoolean(false),
                model.path("ignore_merges").asBoolean(false));
    }

    /** A merge in either form: the string "a b" or the array ["a", "b"]. */
    private String[] merge(JsonNode merge, String field) {
        if (merge.isTextual()) {
            String text = merge.asText();
            int space = text.indexOf(' ');
            if (space <= 0 || space == text.length() - 1 || text.indexOf(' ', space + 1) >= 0) {
                throw error(field, "expected two tokens separated by one space, got \"" + text + "\"");
            }
            return new String[] {text.substring(0, space), text.substring(space + 1)};
        }
        if (merge.isArray()
                && merge.size() == 2
                && merge.get(0).isTextual()
                && merge.get(1).isTextual()) {
            return new String[] {merge.get(0).asText(), merge.get(1).asText()};
        }
        throw error(field, "expected \"a b\" or [\"a\", \"b\"], got " + merge);
    }

    private List<AddedToken> addedTokens(JsonNode added) {
        List<AddedToken> result = new ArrayList<>();
        if (added.isMissingNode() || added.isNull()) {
            return result;
        }
        if (!added.isArray()) {
            throw error("added_tokens", "expected an array, got " + added.getNodeType());
        }
        for (int i = 0; i < added.size(); i++) {
            JsonNode token = added.get(i);
            String field = "added_tokens[" + i + "]";
            JsonNode id = require(token, "id", field + ".id");
            JsonNode content = require(token, "content", field + ".content");
            if (!id.canConvertToInt() || id.asInt() < 0 || id.asInt() >= MAX_TOKEN_ID) {
                throw error(field + ".id", "expected an integer from 0 to " + (MAX_TOKEN_ID - 1) + ", got " + id);
            }
            if (!content.isTextual() || content.asText().isEmpty()) {
                throw error(field + ".content", "expected a non-empty string, got " + content);
            }
            result.add(new AddedToken(
                    id.asInt(),
                    content.asText(),
                    token.path("single_word").asBoolean(false),
                    token.path("lstrip").asBoolean(false),
                    token.path("rstrip").asBoolean(false),
                    token.path("normalized").asBoolean(false),
                    token.path("special").asBoolean(false)));
        }
        return result;
    }

    private TextNormalizer normalizer(JsonNode node, String field) {
        if (node.isMissingNode() || node.isNull()) {
            return null;
        }
        String type = require(node, "type", field + ".type").asText();
        return switch (type) {
            case "NFC" -> new TextNormalizer.UnicodeForm(Normalizer.Form.NFC);
            case "NFD" -> new TextNormalizer.UnicodeForm(Normalizer.Form.NFD);
            case "NFKC" -> new TextNormalizer.UnicodeForm(Normalizer.Form.NFKC);
            case "NFKD" -> new TextNormalizer.UnicodeForm(Normalizer.Form.NFKD);
            case "Lowercase" -> new TextNormalizer.Lowercase();
            case "Prepend" ->
                new TextNormalizer.Prepend(
                        require(node, "prepend", field + ".prepend").asText());
            case "Replace" ->
                new TextNormalizer.Replace(
                        pattern(require(node, "pattern", field + ".pattern"), field + ".pattern"),
                        require(node, "content", field + ".content").asText());
            case "Sequence" -> {
                JsonNode list = requireList(node, "normalizers", field + ".normalizers");
                List<TextNormalizer> normalizers = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    TextNormalizer normalizer = normalizer(list.get(i), field + ".normalizers[" + i + "]");
                    if (normalizer != null) {
                        normalizers.add(normalizer);
                    }
                }
                yield new TextNormalizer.Sequence(normalizers);
            }
            default ->
                throw error(
                        field + ".type",
                        "unsupported normalizer " + type
                                + "; supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Sequence");
        };
    }

    private PreTokenizer preTokenizer(JsonNode node, String field) {
        if (node.isMissingNode() || node.isNull()) {
            return null;
        }
        String type = require(node, "type", field + ".type").asText();
        return switch (type) {
            case "Split" ->
                new PreTokenizer.Split(
                        pattern(require(node, "pattern", field + ".pattern"), field + ".pattern"),
                        behavior(node.path("behavior").asText("Isolated"), field + ".behavior"),
                        node.path("invert").asBoolean(false));
            case "ByteLevel" ->
                new PreTokenizer.ByteLevel(
                        node.path("add_prefix_space").asBoolean(false),
                        node.path("use_regex").asBoolean(true)
                                ? RegexTranslator.compile(PreTokenizer.ByteLevel.GPT2_REGEX)
                                : null);
            case "Metaspace" ->
                new PreTokenizer.Metaspace(
                        node.path("replacement").asText("▁"),
                        node.path("prepend_scheme")
                                .asText(node.path("add_prefix_space").asBoolean(true) ? "always" : "never"),
                        node.path("split").asBoolean(true));
            case "Sequence" -> {
                JsonNode list = requireList(node, "pretokenizers", field + ".pretokenizers");
                List<PreTokenizer> preTokenizers = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    preTokenizers.add(preTokenizer(list.get(i), field + ".pretokenizers[" + i + "]"));
                }
                yield new PreTokenizer.Sequence(preTokenizers);
            }
            default ->
                throw error(
                        field + ".type",
                        "unsupported pre-tokenizer " + type + "; supported: Split, ByteLevel, Metaspace, Sequence");
        };
    }

    private PreTokenizer.Behavior behavior(String name, String field) {
        return switch (name) {
            case "Isolated" -> PreTokenizer.Behavior.ISOLATED;
            case "Removed" -> PreTokenizer.Behavior.REMOVED;
            case "MergedWithPrevious" -> PreTokenizer.Behavior.MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> PreTokenizer.Behavior.MERGED_WITH_NEXT;
            case "Contiguous" -> PreTokenizer.Behavior.CONTIGUOUS;
            default ->
                throw error(
                        field,
                        "expected Isolated, Removed, MergedWithPrevious, MergedWithNext or Contiguous, got " + name);
        };
    }

    /** A pattern object: {"Regex": "..."} in Oniguruma syntax or {"String": "..."} matched literally. */
    private Pattern pattern(JsonNode node, String field) {
        if (node.path("Regex").isTextual()) {
            try {
                return RegexTranslator.compile(node.path("Regex").asText());
            } catch (IllegalArgumentException e) {
                throw new TokenizerFormatException(file, field + ".Regex", e.getMessage(), e);
            }
        }
        if (node.path("String").isTextual()) {
            return Pattern.compile(Pattern.quote(node.path("String").asText()));
        }
        throw error(field, "expected {\"Regex\": \"...\"} or {\"String\": \"...\"}, got " + node);
    }

    private TokenDecoder decoder(JsonNode node) {
        DecoderParts parts = new DecoderParts();
        if (!node.isMissingNode() && !node.isNull()) {
            collectDecoder(node, "decoder", parts);
        }
        return new TokenDecoder(parts.byteLevel, parts.byteFallback, parts.replacements, parts.stripLeadingSpaces);
    }

    private static final class DecoderParts {
        boolean byteLevel;
        boolean byteFallback;
        List<String[]> replacements = new ArrayList<>();
        int stripLeadingSpaces;
    }

    private void collectDecoder(JsonNode node, String field, DecoderParts parts) {
        String type = require(node, "type", field + ".type").asText();
        switch (type) {
            case "ByteLevel" -> parts.byteLevel = true;
            case "ByteFallback" -> parts.byteFallback = true;
            case "Fuse" -> {
                // joining tokens is what decoding by bytes does anyway
            }
            case "Replace" -> {
                JsonNode pattern = require(node, "pattern", field + ".pattern");
                if (!pattern.path("String").isTextual()) {
                    throw error(
                            field + ".pattern",
                            "only {\"String\": ...} patterns are supported in the Replace decoder, got " + pattern);
                }
                parts.replacements.add(new String[] {
                    pattern.path("String").asText(),
                    require(node, "content", field + ".content").asText()
                });
            }
            case "Strip" -> {
                if (!node.path("content").asText(" ").equals(" ")
                        || node.path("stop").asInt(0) != 0) {
                    throw error(field, "only Strip of leading spaces (content \" \", stop 0) is supported");
                }
                parts.stripLeadingSpaces = node.path("start").asInt(0);
            }
            case "Metaspace" -> {
                parts.replacements.add(new String[] {node.path("replacement").asText("▁"), " "});
                if (!node.path("prepend_scheme").asText("always").equals("never")) {
                    parts.stripLeadingSpaces = 1;
                }
            }
            case "Sequence" -> {
                JsonNode list = requireList(node, "decoders", field + ".decoders");
                for (int i = 0; i < list.size(); i++) {
                    collectDecoder(list.get(i), field + ".decoders[" + i + "]", parts);
                }
            }
            default ->
                throw error(
                        field + ".type",
                        "unsupported decoder " + type
                                + "; supported: ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace, Sequence");
        }
    }

    private SpecialTokenTemplate postProcessor(JsonNode node, String field, Map<String, Integer> tokenIds) {
        if (node.isMissingNode() || node.isNull()) {
            return SpecialTokenTemplate.NONE;
        }
        String type = require(node, "type", field + ".type").asText();
        return switch (type) {
            case "ByteLevel" -> SpecialTokenTemplate.NONE;
            case "TemplateProcessing" -> template(node, field);
            case "BertProcessing", "RobertaProcessing" ->
                new SpecialTokenTemplate(
                        new int[] {require(node, "cls", field + ".cls").path(1).asInt()},
                        new int[] {require(node, "sep", field + ".sep").path(1).asInt()});
            case "Sequence" -> {
                JsonNode list = requireList(node, "processors", field + ".processors");
                SpecialTokenTemplate result = SpecialTokenTemplate.NONE;
                for (int i = 0; i < list.size(); i++) {
                    SpecialTokenTemplate one = postProcessor(list.get(i), field + ".processors[" + i + "]", tokenIds);
                    if (one != SpecialTokenTemplate.NONE) {
                        result = one;
                    }
                }
                yield result;
            }
            default ->
                throw error(
                        field + ".type",
                        "unsupported post-processor " + type
                                + "; supported: ByteLevel, TemplateProcessing, BertProcessing, RobertaProcessing, Sequence");
        };
    }

    private SpecialTokenTemplate template(JsonNode node, String field) {
        JsonNode single = requireList(node, "single", field + ".single");
        JsonNode specialTokens = node.path("special_tokens");
        IdBuffer prefix = new IdBuffer(2);
        IdBuffer suffix = new IdBuffer(2);
        boolean afterSequence = false;
        for (int i = 0; i < single.size(); i++) {
            JsonNode item = single.get(i);
            String itemField = field + ".single[" + i + "]";
            if (item.has("Sequence")) {
                afterSequence = true;
            } else if (item.has("SpecialToken")) {
                String name = item.path("SpecialToken").path("id").asText();
                JsonNode ids = specialTokens.path(name).path("ids");
                if (!ids.isArray() || ids.isEmpty()) {
                    throw error(
                            field + ".special_tokens",
                            "expected an entry for \"" + name + "\" with its ids (used by " + itemField + ")");
                }
                for (JsonNode id : ids) {
                    (afterSequence ? suffix : prefix).add(id.asInt());
                }
            } else {
                throw error(itemField, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}, got " + item);
            }
        }
        return new SpecialTokenTemplate(prefix.toArray(), suffix.toArray());
    }

    private JsonNode require(JsonNode parent, String name, String field) {
        JsonNode node = parent.get(name);
        if (node == null || node.isNull()) {
            throw error(field, "missing; expected a value");
        }
        return node;
    }

    /** A list member: an object there has a size() but no elements by index (fuzzing found the crash). */
    private JsonNode requireList(JsonNode parent, String name, String field) {
        JsonNode node = require(parent, name, field);
        if (!node.isArray()) {
            throw error(field, "expected a list, got " + node.getNodeType());
        }
        return node;
    }

    private TokenizerFormatException error(String field, String problem) {
        return new TokenizerFormatException(file, field, problem);
    }
}
