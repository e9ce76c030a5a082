package io.twinserve.traces;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * What produced a run, a dataset, a model or a profile: the spec's hash and seed, the twinserve version and
 * commit, the JVM, the OS and the time. The one shape every artifact records (as {@link #asMap()} where it
 * writes a map beside its own facts).
 *
 * @param specSha256 SHA-256 of the spec's text as run, or null when there is none
 * @param seed the run's seed, or null when it has none
 * @param version the twinserve version, or "development build" outside a packaged jar
 * @param commit the commit the code was built from ({@link #buildCommit()})
 * @param jvm the JVM's name and version
 * @param os the operating system's name, version and architecture
 * @param time when it was recorded (ISO-8601, UTC)
 */
public record Provenance(
        String specSha256, Long seed, String version, String commit, String jvm, String os, String time) {
    /** The build's own record, written by git-commit-id-maven-plugin into the application jar. */
    private static final String GIT_PROPERTIES = "/io/twinserve/api/git.properties";

    /** This process now, for a run of {@code specText} (may be null) with {@code seed} (may be null). */
    public static Provenance of(String specText, Long seed) {
        return new Provenance(
                specText == null ? null : sha256(specText),
                seed,
                currentVersion(),
                buildCommit(),
                System.getProperty("java.vm.name") + " " + Runtime.version(),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                        + System.getProperty("os.arch"),
                Instant.now().toString());
    }

    /** The fields with snake_case keys, nulls left out, in record order. */
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (specSha256 != null) {
            m.put("spec_sha256", specSha256);
        }
        if (seed != null) {
            m.put("seed", seed);
        }
        m.put("version", version);
        m.put("commit", commit);
        m.put("jvm", jvm);
        m.put("os", os);
        m.put("time", time);
        return m;
    }

    /** The twinserve version from the jar's manifest, or "development build". */
    public static String currentVersion() {
        String v = Provenance.class.getPackage().getImplementationVersion();
        return v == null ? "development build" : v;
    }

    /**
     * The commit the jar was built from: {@code io/twinserve/api/git.properties}, written at build time (with
     * "-dirty" when the checkout had uncommitted changes then), so that the provenance names the code that ran
     * whatever the checkout holds by the time it runs; else {@code TWINSERVE_COMMIT} from the environment
     * (container images built without the .git folder); else "unknown".
     */
    public static String buildCommit() {
        String built = built(Provenance.class.getResourceAsStream(GIT_PROPERTIES));
        if (built != null) {
            return built;
        }
        String env = System.getenv("TWINSERVE_COMMIT");
        return env != null && !env.isBlank() ? env : "unknown";
    }

    /** The commit a git.properties stream records, "-dirty" appended when it says so; null when it records none. */
    public static String built(InputStream in) {
        if (in == null) {
            return null;
        }
        Properties p = new Properties();
        try (in) {
            p.load(in);
        } catch (IOException e) {
            return null;
        }
        String id = p.getProperty("git.commit.id.full", "").trim();
        if (!id.matches("[0-9a-f]{40}")) {
            return null;
        }
        return id + (Boolean.parseBoolean(p.getProperty("git.dirty", "false").trim()) ? "-dirty" : "");
    }

    /** SHA-256 of a text's UTF-8 bytes, in hex. */
    public static String sha256(String text) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
