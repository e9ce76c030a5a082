package io.twinserve.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The {@code decoder} of {@code tokenizer.json}, reduced to what the supported decoders do: each token
 * stands for some bytes, and the joined text may lose leading spaces.
 *
 * @param byteLevel tokens are written in GPT-2's byte alphabet (ByteLevel decoder)
 * @param byteFallback {@code <0xNN>} tokens stand for one byte (ByteFallback decoder)
 * @param replacements literal replacements applied to each token's text (Replace and Metaspace decoders)
 * @param stripLeadingSpaces spaces removed from the start of the decoded text (Strip decoder, Metaspace's prepended space)
 */
record TokenDecoder(boolean byteLevel, boolean byteFallback, List<String[]> replacements, int stripLeadingSpaces) {

    TokenDecoder {
        replacements = List.copyOf(replacements);
    }

    /** The bytes one token stands for. */
    byte[] bytesOf(String token) {
        if (byteLevel) {
            // Hugging Face falls back to the token's own UTF-8 when a character is outside the alphabet.
            byte[] bytes = ByteLevelAlphabet.decode(token);
            return bytes != null ? bytes : token.getBytes(StandardCharsets.UTF_8);
        }
        if (byteFallback && token.length() == 6 && token.startsWith("<0x") && token.endsWith(">")) {
            try {
                return new byte[] {(byte) Integer.parseInt(token.substring(3, 5), 16)};
            } catch (NumberFormatException notHex) {
                // an ordinary token that happens to look similar
            }
        }
        String text = token;
        for (String[] replacement : replacements) {
            text = text.replace(replacement[0], replacement[1]);
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** Applies the leading-space strip to the start of the decoded text. */
    String stripStart(String text) {
        int strip = 0;
        while (strip < stripLeadingSpaces && strip < text.length() && text.charAt(strip) == ' ') {
            strip++;
        }
        return text.substring(strip);
    }
}
