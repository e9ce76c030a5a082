package io.twinserve.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A BPE tokenizer read from a Hugging Face {@code tokenizer.json} (Qwen, Llama 3, Mistral and similar),
 * encoding text to token ids and decoding ids back to text; safe to share between threads.
 */
public final class Tokenizer {
    private final BytePairModel model;
    private final TextNormalizer normalizer;
    /** The file it was read from, for messages. */
    private final Path file;

    private final PreTokenizer preTokenizer;
    private final TokenDecoder decoder;
    private final SpecialTokenTemplate specialTokenTemplate;
    private final AddedTokenSplitter addedTokens;
    private final String[] tokens;
    private final Map<String, Integer> tokenIds;
    private final boolean[] special;
    /** Bytes of each token, filled on first use; a race only computes the same array twice. */
    private final byte[][] tokenBytes;

    Tokenizer(
            Path file,
            BytePairModel model,
            TextNormalizer normalizer,
            PreTokenizer preTokenizer,
            TokenDecoder decoder,
            SpecialTokenTemplate specialTokenTemplate,
            AddedTokenSplitter addedTokens,
            String[] tokens,
            Map<String, Integer> tokenIds,
            boolean[] special) {
        this.file = file;
        this.model = model;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.decoder = decoder;
        this.specialTokenTemplate = specialTokenTemplate;
        this.addedTokens = addedTokens;
        this.tokens = tokens;
        this.tokenIds = tokenIds;
        this.special = special;
        this.tokenBytes = new byte[tokens.length][];
    }

    /**
     * Reads a {@code tokenizer.json}.
     *
     * @throws TokenizerFormatException naming the file and field when the file is malformed or uses an unsupported part
     */
    public static Tokenizer load(Path tokenizerJson) {
        return TokenizerJsonReader.read(tokenizerJson);
    }

    /**
     * Parses {@code tokenizer.json} bytes; {@code file} is used only in messages.
     *
     * @throws TokenizerFormatException naming the file and field when the bytes are malformed
     */
    public static Tokenizer parse(byte[] tokenizerJson, Path file) {
        return TokenizerJsonReader.parse(tokenizerJson, file);
    }

    /** How much the normalizers may lengthen a text: far past NFKD's 18 characters for one, well short of memory. */
    static final int MAX_GROWTH = 64;

    private String normalize(String text) {
        long limit = (long) MAX_GROWTH * text.length() + 1024;
        try {
            return normalizer.apply(text, limit);
        } catch (TextNormalizer.TooLong e) {
            throw new TokenizerFormatException(
                    file,
                    "normalizer",
                    "lengthens a text of " + text.length() + " characters to " + e.getMessage()
                            + "; normalizers lengthen text by a few characters at most (replacements feeding each other?)");
        }
    }

    /** Encodes text without adding the post-processor's special tokens (no BOS). */
    public int[] encode(String text) {
        return encode(text, false);
    }

    /**
     * Encodes text; special tokens written in the text (such as {@code <|im_start|>}) become their ids.
     *
     * @param addSpecialTokens add what the post-processor adds, e.g. Llama 3's {@code <|begin_of_text|>}
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        Objects.requireNonNull(text, "text");
        IdBuffer ids = new IdBuffer(text.length() / 3 + 4);
        if (addSpecialTokens) {
            ids.addAll(specialTokenTemplate.prefixIds());
        }
        List<String> pieces = new ArrayList<>();
        boolean first = true;
        for (AddedTokenSplitter.Section section : addedTokens.split(text)) {
            if (section.text() == null) {
                ids.add(section.tokenId());
            } else {
                String normalized = normalizer == null ? section.text() : normalize(section.text());
                pieces.clear();
                if (preTokenizer == null) {
                    pieces.add(normalized);
                } else {
                    preTokenizer.split(normalized, first, pieces);
                }
                for (String piece : pieces) {
                    model.encodeWord(piece, ids);
                }
            }
            first = false;
        }
        if (addSpecialTokens) {
            ids.addAll(specialTokenTemplate.suffixIds());
        }
        return ids.toArray();
    }

    /** Decodes ids to text, special tokens included. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /** Decodes ids to text; bytes that do not form valid UTF-8 become U+FFFD. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            if (!(skipSpecialTokens && isSpecial(id))) {
                bytes.writeBytes(bytesOf(id));
            }
        }
        return decoder.stripStart(bytes.toString(StandardCharsets.UTF_8));
    }

    /** Decodes ids one at a time, for streaming generated text. */
    public StreamDecoder streamDecoder() {
        return streamDecoder(false);
    }

    /** Decodes ids one at a time, optionally dropping special tokens such as an end-of-turn marker. */
    public StreamDecoder streamDecoder(boolean skipSpecialTokens) {
        return new StreamDecoder(this, skipSpecialTokens);
    }

    /** One more than the highest token id, i.e. the rows an embedding table needs. */
    public int vocabSize() {
        return tokens.length;
    }

    /** The id of a token written as in the vocabulary (byte-level tokens in GPT-2's alphabet, e.g. "Ġthe"). */
    public OptionalInt tokenId(String token) {
        Integer id = tokenIds.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The token with this id, as written in the vocabulary. */
    public String token(int id) {
        checkId(id);
        String token = tokens[id];
        if (token == null) {
            throw new IllegalArgumentException("token id " + id + " is not assigned in this vocabulary");
        }
        return token;
    }

    /** Whether the id is an added token marked special (BOS, EOS, chat markers). */
    public boolean isSpecial(int id) {
        checkId(id);
        return special[id];
    }

    byte[] bytesOf(int id) {
        checkId(id);
        byte[] bytes = tokenBytes[id];
        if (bytes == null) {
            bytes = tokens[id] == null ? new byte[0] : decoder.bytesOf(tokens[id]);
            tokenBytes[id] = bytes;
        }
        return bytes;
    }

    TokenDecoder decoder() {
        return decoder;
    }

    private void checkId(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new IllegalArgumentException(
                    "token id " + id + " is outside the vocabulary [0, " + tokens.length + ")");
        }
    }
}
