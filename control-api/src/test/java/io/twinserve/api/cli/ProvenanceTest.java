package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Provenance;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The commit recorded in datasets and models is the one the jar was built from. */
class ProvenanceTest {
    private static final String ID = "0123456789abcdef0123456789abcdef01234567";

    private static ByteArrayInputStream props(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void readsTheBuildsCommitAndWhetherItsCheckoutWasDirty() {
        assertThat(Provenance.built(props("git.commit.id.full=" + ID + "\ngit.dirty=false\n")))
                .isEqualTo(ID);
        assertThat(Provenance.built(props("git.commit.id.full=" + ID + "\ngit.dirty=true\n")))
                .isEqualTo(ID + "-dirty");
        // no commit (built outside a checkout) or no file: the caller falls back to TWINSERVE_COMMIT, then "unknown"
        assertThat(Provenance.built(props("git.dirty=false\n"))).isNull();
        assertThat(Provenance.built(props("git.commit.id.full=${git.commit.id.full}\n")))
                .isNull();
        assertThat(Provenance.built(null)).isNull();
    }

    @Test
    void thisBuildRecordedItsCommit() {
        // the tests run in a git checkout (CI clones one), so the build wrote git.properties
        assertThat(Provenance.buildCommit()).matches("[0-9a-f]{40}(-dirty)?");
    }
}
