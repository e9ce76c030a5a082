package io.twinserve.api.server.usage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.api.server.infra.JournalFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server's usage journal ({@link UsageStats}): a file of its own in the data folder, locked while the server
 * lives, one JSON array per line:
 *
 * <ul>
 *   <li>{@code ["J", generation]} opens it, and again after each {@link #compact};
 *   <li>{@code ["R", minute, key id, deployment, adapter, prompt tokens, completion tokens]}: a request counted;
 *   <li>{@code ["B", [[id, counts], ...]]}: the batches one seal made, holding every count before the line that an
 *       earlier line's batches do not (one line, so that a crash leaves all of them or none);
 *   <li>{@code ["O", counts]}: counts not yet in a batch, as a compaction carried them over;
 *   <li>{@code ["A", id]}: a batch Redis took.
 * </ul>
 *
 * <p>Callers synchronize on the journal. Written with plain writes, not synced (a sync per request would cost
 * milliseconds): what is written is in the operating system's cache once a write returns, so it outlives the
 * process, not the machine. Writes go through a {@link RandomAccessFile}, which a thread's interrupt does not close.
 */
final class UsageJournal {
    private static final Logger LOG = LoggerFactory.getLogger(UsageJournal.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String PREFIX = "usage.journal.";

    private final JournalFiles.Live file;
    private long generation;
    private long size;
    /** Bytes after the last compaction: the next compaction waits until the journal has grown well past it. */
    private long compactedSize;
    /** Set when a write failed: the file no longer says what was counted, so it is deleted and nothing more written. */
    private boolean broken;
    /** Set once the journal was closed: nothing more is written (the file stays for the next start). */
    private boolean closed;

    private UsageJournal(JournalFiles.Live file) {
        this.file = file;
    }

    /** A new journal for this server, or null (logged) when the data folder cannot hold one. */
    static UsageJournal open(Path dataDir) {
        try {
            UsageJournal j = new UsageJournal(JournalFiles.create(dataDir, PREFIX, line(new Object[] {"J", 0})));
            j.size = j.file.size();
            j.compactedSize = j.size;
            return j;
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "no usage journal in {} ({}): usage counts not yet in Redis are lost if the server dies",
                    dataDir,
                    e.toString());
            return null;
        }
    }

    private static byte[] line(Object[] line) throws IOException {
        byte[] json = JSON.writeValueAsBytes(line);
        byte[] out = new byte[json.length + 1];
        System.arraycopy(json, 0, out, 0, json.length);
        out[json.length] = '\n';
        return out;
    }

    /** Whether the journal still records: false once a write failed or it was closed. */
    boolean usable() {
        return !broken && !closed;
    }

    /** The journal's file name and generation: with an offset, a name no other batch of any journal has. */
    String name() {
        return file.path().getFileName() + "#" + generation;
    }

    Path file() {
        return file.path();
    }

    /** Bytes written since the journal was opened or last compacted. */
    long size() {
        return size;
    }

    /**
     * Appends one line. A failed write deletes the journal (logged): from then on counts live in memory only. Nothing
     * is written once the journal is closed.
     */
    void append(Object[] line) {
        if (!usable()) {
            return;
        }
        try {
            size += file.append(line(line));
        } catch (IOException | RuntimeException e) {
            fail(e);
        }
    }

    private void fail(Exception e) {
        broken = true;
        LOG.error(
                "could not write the usage journal {} ({}); it is deleted and usage counts not yet in Redis are lost"
                        + " if the server dies",
                file.path(),
                e.toString());
        file.close();
        try {
            Files.deleteIfExists(file.path());
        } catch (IOException gone) {
            LOG.error("could not delete the broken usage journal {}: delete it before the next start", file.path());
        }
    }

    /** Whether the journal has grown enough since its last compaction for another to pay. */
    boolean wantsCompaction() {
        return usable() && size > 2 * compactedSize + 64 * 1024;
    }

    /** Whether anything was written since the last compaction (or the start). */
    boolean grown() {
        return usable() && size > compactedSize;
    }

    /**
     * Rewrites the journal as what it must still say: {@code sealed} (batches not confirmed, with their ids) and
     * {@code open} (counts in no batch), under a new generation, so that it holds the server's state, not its
     * history. Kept as it was (logged) when the rewrite fails.
     */
    void compact(List<UsageStats.Batch> sealed, Map<String, long[]> open) {
        if (!usable()) {
            return;
        }
        try {
            List<Object[]> lines = new ArrayList<>();
            lines.add(new Object[] {"J", generation + 1});
            if (!sealed.isEmpty()) {
                lines.add(group(sealed));
            }
            if (!open.isEmpty()) {
                lines.add(new Object[] {"O", open});
            }
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (Object[] l : lines) {
                out.write(line(l));
            }
            size = file.replace(out.toByteArray());
            generation++;
            compactedSize = size;
        } catch (IOException | RuntimeException e) {
            fail(e);
        }
    }

    /** The journal line of one seal's batches. */
    static Object[] group(List<UsageStats.Batch> batches) {
        List<Object[]> parts = new ArrayList<>(batches.size());
        for (UsageStats.Batch b : batches) {
            parts.add(new Object[] {b.id(), b.counts()});
        }
        return new Object[] {"B", parts};
    }

    /** Forces what was written to the disk; false (logged) when it could not. */
    boolean sync() {
        if (!usable()) {
            return false;
        }
        try {
            file.sync();
            return true;
        } catch (IOException e) {
            LOG.warn("could not sync the usage journal {}: {}", file.path(), e.toString());
            return false;
        }
    }

    /** Closes the journal, releasing its lock; the file stays (for the next start) unless deleted by the caller. */
    void close() {
        closed = true;
        file.close();
    }

    /**
     * Writes {@code line} as a journal of its own (a request counted after the server's journal was closed at
     * shutdown), published whole under its name; logged when it cannot be written.
     */
    static void writeAlone(Path dataDir, Object[] line) {
        try {
            byte[] head = line(new Object[] {"J", 0});
            byte[] body = line(line);
            byte[] all = new byte[head.length + body.length];
            System.arraycopy(head, 0, all, 0, head.length);
            System.arraycopy(body, 0, all, head.length, body.length);
            JournalFiles.create(dataDir, PREFIX, all).close();
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "could not keep the usage of a request that ended after shutdown in {}: {}", dataDir, e.toString());
        }
    }

    /** What a dead server's journal holds that Redis may not have: batches in order, ids kept. */
    record Recovered(List<UsageStats.Batch> batches) {}

    /**
     * Reads a journal, line by line: its batches not confirmed, in order, and its counts not yet in a batch as one
     * more batch (more than {@link UsageStats#BATCH_KEYS} entries: several) named after the file, its generation and
     * its length, so that reading the same journal again names them alike. A line cut short (the machine stopped
     * mid-write) or unreadable is skipped and logged with its number. Null (logged) when the file cannot be read.
     */
    static Recovered read(Path f) {
        Map<String, long[]> open = new HashMap<>();
        LinkedHashMap<String, Map<String, long[]>> batches = new LinkedHashMap<>();
        long generation = 0;
        long length;
        boolean endsWhole;
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "r")) {
            length = raf.length();
            endsWhole = length == 0 || lastByte(raf) == '\n';
        } catch (IOException e) {
            LOG.error("could not read the usage journal {} (left in place): {}", f, e.toString());
            return null;
        }
        try (BufferedReader in = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            String line;
            String next = in.readLine();
            int lineNo = 0;
            while ((line = next) != null) {
                next = in.readLine();
                lineNo++;
                if (next == null && !endsWhole) {
                    LOG.warn("{} line {}: cut short (the machine stopped while it was written); skipped", f, lineNo);
                    break;
                }
                try {
                    generation = apply(JSON.readTree(line), open, batches, generation);
                } catch (IOException | RuntimeException e) {
                    LOG.warn("{} line {}: not a journal line ({}); skipped", f, lineNo, e.toString());
                }
            }
        } catch (IOException e) {
            LOG.error("could not read the usage journal {} (left in place): {}", f, e.toString());
            return null;
        }
        List<UsageStats.Batch> out = new ArrayList<>();
        batches.forEach((id, counts) -> out.add(new UsageStats.Batch(id, counts)));
        if (!open.isEmpty()) {
            UsageStats.split(f.getFileName() + "#" + generation + "@" + length, open, out);
        }
        return new Recovered(out);
    }

    private static int lastByte(RandomAccessFile raf) throws IOException {
        raf.seek(raf.length() - 1);
        return raf.read();
    }

    /** Applies one line to the state being read back; returns the generation. */
    private static long apply(
            JsonNode a, Map<String, long[]> open, LinkedHashMap<String, Map<String, long[]>> batches, long generation)
            throws IOException {
        switch (a.path(0).asText()) {
            case "J" -> {
                return a.path(1).asLong();
            }
            case "R" -> {
                String adapter = a.path(4).isNull() ? null : a.path(4).asText();
                for (String key : UsageStats.entries(
                        a.path(1).asText(), a.path(2).asLong(), a.path(3).asText(), adapter)) {
                    add(open, key, 1, a.path(5).asInt(), a.path(6).asInt());
                }
            }
            case "O" -> {
                for (Map.Entry<String, long[]> e : counts(a.path(1)).entrySet()) {
                    long[] v = e.getValue();
                    add(open, e.getKey(), v[0], v[1], v[2]);
                }
            }
            case "B" -> {
                // the seal's batches hold every count before them that an earlier seal's do not
                open.clear();
                for (JsonNode part : a.path(1)) {
                    batches.put(part.path(0).asText(), counts(part.path(1)));
                }
            }
            case "A" -> batches.remove(a.path(1).asText());
            default -> throw new IOException("unknown line type " + a.path(0));
        }
        return generation;
    }

    private static Map<String, long[]> counts(JsonNode n) {
        Map<String, long[]> counts = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            counts.put(e.getKey(), new long[] {
                v.path(0).asLong(), v.path(1).asLong(), v.path(2).asLong()
            });
        }
        return counts;
    }

    private static void add(Map<String, long[]> counts, String key, long requests, long prompt, long completion) {
        long[] a = counts.computeIfAbsent(key, k -> new long[3]);
        a[0] += requests;
        a[1] += prompt;
        a[2] += completion;
    }
}
