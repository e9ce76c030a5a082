package io.twinserve.engine.tokenizer;

/**
 * What the {@code post_processor} adds around one encoded sequence when special tokens are requested
 * (TemplateProcessing's {@code single}, or Bert/Roberta's cls and sep).
 */
record SpecialTokenTemplate(int[] prefixIds, int[] suffixIds) {
    static final SpecialTokenTemplate NONE = new SpecialTokenTemplate(new int[0], new int[0]);

    SpecialTokenTemplate {
        prefixIds = prefixIds.clone();
        suffixIds = suffixIds.clone();
    }
}
