package io.twinserve.api.server.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * API keys: {@code tsk_} and 32 random bytes (base64url). Only the SHA-256 of a key is stored; a key has
 * 256 bits of entropy, so a fast unsalted hash is safe (no dictionary to search) and keeps the check cheap.
 */
public final class ApiKeys {
    public static final String PREFIX = "tsk_";
    private static final SecureRandom RANDOM = new SecureRandom();

    private ApiKeys() {}

    public static String newKey() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public static String hash(String key) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What is kept in clear to tell keys apart in listings: the first characters. */
    public static String displayPrefix(String key) {
        return key.substring(0, Math.min(key.length(), 12));
    }
}
