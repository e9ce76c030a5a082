package io.twinserve.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a small but real byte-level BPE {@code tokenizer.json} and {@code tokenizer_config.json} for the
 * random test models the engine creates, in the exact schema Hugging Face's {@code tokenizers} reads.
 */
public final class TokenizerWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** What was written: the vocabulary size (BPE tokens plus special tokens) and the special ids an engine needs. */
    public record Written(int vocabSize, int bosId, int eosId, List<Integer> stopIds) {
        /**
         * @param bosId the BOS token's id, or -1 when the style adds none (Qwen)
         * @param stopIds ids that end generation, the EOS id first
         */
        public Written {
            if (vocabSize < 257) {
                throw new IllegalArgumentException("vocabSize must be at least 257, was " + vocabSize);
            }
            if (bosId < -1 || bosId >= vocabSize) {
                throw new IllegalArgumentException("bosId must be -1 or in [0, " + vocabSize + "), was " + bosId);
            }
            if (eosId < 0 || eosId >= vocabSize) {
                throw new IllegalArgumentException("eosId must be in [0, " + vocabSize + "), was " + eosId);
            }
            stopIds = List.copyOf(stopIds);
            if (!stopIds.contains(eosId)) {
                throw new IllegalArgumentException("stopIds must contain eosId " + eosId + ", were " + stopIds);
            }
        }
    }

    private TokenizerWriter() {}

    /**
     * Writes {@code tokenizer.json} and {@code tokenizer_config.json} into the folder.
     *
     * @param vocabSize total ids, at least 256 plus the style's special tokens; when the built-in text cannot
     *     teach enough merges the rest are reserved special tokens, as Llama 3 does
     */
    public static Written writeByteLevelBpe(Path dir, int vocabSize, ChatStyle style) {
        int minimum = 256 + style.specialTokens().size();
        if (vocabSize < minimum) {
            throw new IllegalArgumentException("vocabSize must be at least " + minimum + " (256 bytes + "
                    + style.specialTokens().size() + " special tokens of " + style + "), was " + vocabSize);
        }
        MergeLearner.Learned learned = MergeLearner.learn(
                TrainingCorpus.TEXT,
                RegexTranslator.compile(style.preTokenizerRegex()),
                vocabSize - style.specialTokens().size());
        List<String> specials = new ArrayList<>(style.specialTokens());
        for (int reserved = 0; learned.vocabulary().size() + specials.size() < vocabSize; reserved++) {
            specials.add("<|reserved_special_token_" + reserved + "|>");
        }
        int firstSpecialId = learned.vocabulary().size();
        try {
            Files.createDirectories(dir);
            JSON.writeValue(
                    dir.resolve("tokenizer.json").toFile(), tokenizerJson(style, learned, specials, firstSpecialId));
            JSON.writeValue(
                    dir.resolve("tokenizer_config.json").toFile(), tokenizerConfig(style, specials, firstSpecialId));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tokenizer into " + dir, e);
        }
        int bosId = style.bosToken() == null ? -1 : firstSpecialId + specials.indexOf(style.bosToken());
        List<Integer> stopIds = new ArrayList<>();
        for (String stop : style.stopTokens()) {
            stopIds.add(firstSpecialId + specials.indexOf(stop));
        }
        return new Written(vocabSize, bosId, firstSpecialId + specials.indexOf(style.eosToken()), stopIds);
    }

    private static ObjectNode tokenizerJson(
            ChatStyle style, MergeLearner.Learned learned, List<String> specials, int firstSpecialId) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < specials.size(); i++) {
            ObjectNode token = added.addObject();
            token.put("id", firstSpecialId + i);
            token.put("content", specials.get(i));
            token.put("single_word", false);
            token.put("lstrip", false);
            token.put("rstrip", false);
            token.put("normalized", false);
            token.put("special", true);
        }
        if (style == ChatStyle.QWEN) {
            root.putObject("normalizer").put("type", "NFC");
        } else {
            root.putNull("normalizer");
        }
        ObjectNode preTokenizer = root.putObject("pre_tokenizer");
        preTokenizer.put("type", "Sequence");
        ArrayNode steps = preTokenizer.putArray("pretokenizers");
        ObjectNode split = steps.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", style.preTokenizerRegex());
        split.put("behavior", "Isolated");
        split.put("invert", false);
        steps.add(byteLevel("ByteLevel", false, style == ChatStyle.LLAMA3, false));
        ObjectNode byteLevelProcessor = byteLevel("ByteLevel", true, false, true);
        if (style.bosToken() == null) {
            root.set("post_processor", byteLevelProcessor);
        } else {
            ObjectNode sequence = root.putObject("post_processor");
            sequence.put("type", "Sequence");
            ArrayNode processors = sequence.putArray("processors");
            processors.add(byteLevelProcessor);
            processors.add(bosTemplate(style.bosToken(), firstSpecialId + specials.indexOf(style.bosToken())));
        }
        root.set("decoder", byteLevel("ByteLevel", true, true, true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", style == ChatStyle.LLAMA3);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < learned.vocabulary().size(); id++) {
            vocab.put(learned.vocabulary().get(id), id);
        }
        // "a b" strings rather than pairs: every version of the tokenizers library reads this form.
        ArrayNode merges = model.putArray("merges");
        for (String[] merge : learned.merges()) {
            merges.add(merge[0] + " " + merge[1]);
        }
        return root;
    }

    private static ObjectNode byteLevel(String type, boolean addPrefixSpace, boolean trimOffsets, boolean useRegex) {
        ObjectNode node = JSON.createObjectNode();
        node.put("type", type);
        node.put("add_prefix_space", addPrefixSpace);
        node.put("trim_offsets", trimOffsets);
        node.put("use_regex", useRegex);
        return node;
    }

    /** Llama 3.1's TemplateProcessing: BOS before each sequence. */
    private static ObjectNode bosTemplate(String bos, int bosId) {
        ObjectNode template = JSON.createObjectNode();
        template.put("type", "TemplateProcessing");
        ArrayNode single = template.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = template.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode entry = template.putObject("special_tokens").putObject(bos);
        entry.put("id", bos);
        entry.putArray("ids").add(bosId);
        entry.putArray("tokens").add(bos);
        return template;
    }

    private static ObjectNode tokenizerConfig(ChatStyle style, List<String> specials, int firstSpecialId) {
        ObjectNode config = JSON.createObjectNode();
        ObjectNode decoder = config.putObject("added_tokens_decoder");
        for (int i = 0; i < specials.size(); i++) {
            ObjectNode token = decoder.putObject(String.valueOf(firstSpecialId + i));
            token.put("content", specials.get(i));
            token.put("lstrip", false);
            token.put("normalized", false);
            token.put("rstrip", false);
            token.put("single_word", false);
            token.put("special", true);
        }
        if (style.bosToken() == null) {
            config.putNull("bos_token");
        } else {
            config.put("bos_token", style.bosToken());
        }
        config.put("eos_token", style.eosToken());
        config.put("pad_token", specials.get(0).equals(style.bosToken()) ? style.eosToken() : specials.get(0));
        config.put("chat_template", style.chatTemplate());
        config.put("clean_up_tokenization_spaces", false);
        config.put("model_max_length", 131072);
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        return config;
    }
}
