package io.twinserve.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * GPT-2's reversible mapping of the 256 byte values onto printable characters, which byte-level BPE
 * vocabularies are written in.
 */
final class ByteLevelAlphabet {
    /** Character standing for each byte value. */
    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Byte value of each character, or -1; every mapped character is below 0x200. */
    private static final int[] CHAR_TO_BYTE = new int[0x200];
    /** The 256 byte values in GPT-2's vocabulary order: printable bytes first, then the rest. */
    private static final int[] BYTE_ORDER = new int[256];

    static {
        // Source: openai/gpt-2 encoder.py bytes_to_unicode(): printable Latin-1 bytes keep their code
        // point, the others are shifted to 256 + n in byte order.
        Arrays.fill(CHAR_TO_BYTE, -1);
        int position = 0;
        boolean[] printable = new boolean[256];
        for (int b = 0; b < 256; b++) {
            printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            if (printable[b]) {
                BYTE_TO_CHAR[b] = (char) b;
                BYTE_ORDER[position++] = b;
            }
        }
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            if (!printable[b]) {
                BYTE_TO_CHAR[b] = (char) (256 + shifted++);
                BYTE_ORDER[position++] = b;
            }
        }
        for (int b = 0; b < 256; b++) {
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    private ByteLevelAlphabet() {}

    static char charOf(int byteValue) {
        return BYTE_TO_CHAR[byteValue & 0xFF];
    }

    /** The byte a character stands for, or -1 when it is not part of the alphabet. */
    static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** The byte value at a position of GPT-2's vocabulary order (0..255). */
    static int byteAtRank(int rank) {
        return BYTE_ORDER[rank];
    }

    /** The text's UTF-8 bytes written in the alphabet. */
    static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(chars);
    }

    /** The bytes a token written in the alphabet stands for, or null when a character is outside it. */
    static byte[] decode(String token) {
        byte[] bytes = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            int b = byteOf(token.charAt(i));
            if (b < 0) {
                return null;
            }
            bytes[i] = (byte) b;
        }
        return bytes;
    }
}
