package io.twinserve.engine.backend.sim;

import io.twinserve.engine.live.Detokenizer;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The simulated backend's vocabulary: 256 lorem-ipsum words, each with a leading space, so generated
 * text reads as words; and an estimate of how many tokens a text would be, with placeholder ids for
 * them, where no real tokenizer exists.
 *
 * <p>The estimate cuts the text with GPT-2's pre-tokenizer pattern and counts one token per piece, one
 * more per 7 letters beyond the first 7 of a word (long words are split by BPE), and one per 3 digits of
 * a number (Llama 3 and cl100k group digits by three). On English prose, vocabularies of 100k-150k
 * entries give counts within about a quarter of it; it is not exact for any tokenizer.
 */
public final class PlaceholderVocabulary implements Detokenizer {
    /** Placeholder token ids are {@code 0..SIZE-1}. */
    public static final int SIZE = 256;

    // the words of Cicero's de Finibus 1.10.32-33 as lorem ipsum quotes them, then common lorem-ipsum filler
    private static final String[] WORDS =
            ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et "
                            + "dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex "
                            + "ea commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum eu fugiat nulla "
                            + "pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim "
                            + "id est laborum perspiciatis unde omnis iste natus error voluptatem accusantium doloremque laudantium "
                            + "totam rem aperiam eaque ipsa quae ab illo inventore veritatis quasi architecto beatae vitae dicta "
                            + "explicabo nemo ipsam quia voluptas aspernatur aut odit fugit consequuntur magni dolores eos ratione "
                            + "sequi nesciunt neque porro quisquam dolorem adipisci numquam eius modi tempora incidunt magnam "
                            + "aliquam quaerat minima nostrum exercitationem ullam corporis suscipit laboriosam aliquid commodi "
                            + "consequatur autem vel eum iure quam nihil molestiae illum quo at vero accusamus iusto odio "
                            + "dignissimos ducimus blanditiis praesentium voluptatum deleniti atque corrupti quos quas molestias "
                            + "excepturi occaecati cupiditate provident similique mollitia animi dolorum fuga harum quidem rerum "
                            + "facilis expedita distinctio nam libero tempore cum soluta nobis eligendi optio cumque impedit minus "
                            + "quod maxime placeat facere possimus assumenda repellendus temporibus quibusdam officiis debitis "
                            + "necessitatibus saepe eveniet voluptates repudiandae recusandae itaque earum hic tenetur a sapiente "
                            + "delectus reiciendis voluptatibus maiores alias perferendis doloribus asperiores repellat vestibulum "
                            + "pellentesque habitant morbi tristique senectus netus malesuada fames ac turpis egestas integer "
                            + "feugiat scelerisque varius mauris pharetra lacus viverra purus gravida facilisis donec ultrices "
                            + "tincidunt arcu sodales aenean elementum nibh cras fermentum proin sagittis nisl rhoncus mattis "
                            + "phasellus faucibus pulvinar etiam dignissim diam curabitur nunc ")
                    .trim()
                    .split(" ");

    /** Source: openai/gpt-2 encoder.py, the pattern Hugging Face's ByteLevel pre-tokenizer uses. */
    private static final Pattern PIECES =
            Pattern.compile("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    private static final int LETTERS_PER_TOKEN = 7;
    private static final int DIGITS_PER_TOKEN = 3;

    /** The text of placeholder token {@code id}: a space and a word. */
    public static String word(int id) {
        if (id < 0 || id >= SIZE) {
            throw new IllegalArgumentException("placeholder token id must be from 0 to " + (SIZE - 1) + ", got " + id);
        }
        return " " + WORDS[id];
    }

    @Override
    public Stream open() {
        return PlaceholderVocabulary::word;
    }

    /** The estimated number of tokens of {@code text} (see the class comment). */
    public static int countTokens(String text) {
        return encode(text).length;
    }

    /**
     * Placeholder ids for {@code text}, as many as {@link #countTokens} estimates; each a hash of its
     * piece, so equal texts get equal ids and share prefix-cache blocks as they would with a real
     * tokenizer.
     */
    public static int[] encode(String text) {
        int[] ids = new int[Math.max(8, text.length() / 3)];
        int n = 0;
        Matcher m = PIECES.matcher(text);
        while (m.find()) {
            String piece = m.group();
            int tokens = tokensOf(piece);
            for (int j = 0; j < tokens; j++) {
                if (n == ids.length) {
                    ids = Arrays.copyOf(ids, ids.length * 2);
                }
                ids[n++] = mix(piece.hashCode(), j);
            }
        }
        return Arrays.copyOf(ids, n);
    }

    private static int tokensOf(String piece) {
        int start = piece.charAt(0) == ' ' && piece.length() > 1 ? 1 : 0;
        int length = piece.codePointCount(start, piece.length());
        if (Character.isLetter(piece.codePointAt(start))) {
            return 1 + (length - 1) / LETTERS_PER_TOKEN;
        }
        if (Character.isDigit(piece.codePointAt(start))) {
            return (length + DIGITS_PER_TOKEN - 1) / DIGITS_PER_TOKEN;
        }
        return 1;
    }

    /** A well-mixed placeholder id for the {@code j}-th token of a piece (MurmurHash3's finaliser). */
    static int mix(long a, long b) {
        long h = a * 0x9E3779B97F4A7C15L + b;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return (int) (h & (SIZE - 1));
    }
}
