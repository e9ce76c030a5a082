package io.twinserve.engine.tokenizer;

/**
 * An entry of {@code added_tokens}: a token matched in the raw text before BPE.
 *
 * @param singleWord match only when not inside a word
 * @param leftStrip the token absorbs whitespace on its left
 * @param rightStrip the token absorbs whitespace on its right
 * @param normalized Hugging Face matches it in normalized text; here all are matched in the raw text, which is
 *     the same for the supported normalizers and ASCII tokens
 */
record AddedToken(
        int id,
        String content,
        boolean singleWord,
        boolean leftStrip,
        boolean rightStrip,
        boolean normalized,
        boolean special) {
    AddedToken {
        if (id < 0) {
            throw new IllegalArgumentException("id must be >= 0, was " + id);
        }
        if (content == null || content.isEmpty()) {
            throw new IllegalArgumentException("content must not be empty");
        }
    }
}
