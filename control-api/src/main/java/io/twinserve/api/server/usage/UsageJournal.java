package io.twinserve.api.server.usage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server's usage journal ({@link UsageStats}): a file of its own in the data folder, locked while the server
 * lives, one JSON array per line: {@code ["J", generation]} opens it (again after each {@link #clear}), {@code ["R",
 * minute, key id, deployment, adapter, prompt tokens, completion tokens]} is a request counted, {@code ["B", id,
 * counts]} a batch sealed from every count before it not in an earlier batch, {@code ["A", id]} a batch Redis took.
 * Callers synchronize on the journal.
 *
 * <p>Written with plain writes, not synced (a sync per request would cost milliseconds): what is written is in the
 * operating system's cache once a write returns, so it outlives the process, not the machine.
 */
final class UsageJournal {
    private static final Logger LOG = LoggerFactory.getLogger(UsageJournal.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String PREFIX = "usage.journal.";

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;
    private long generation;
    private long size;
    /** Set when a write failed: the file no longer says what was counted, so it is deleted and nothing more written. */
    private boolean broken;

    private UsageJournal(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** A new journal for this server, or null (logged) when the data folder cannot hold one. */
    static UsageJournal open(Path dataDir) {
        Path file = dataDir.resolve(PREFIX + System.currentTimeMillis() + "-" + UUID.randomUUID());
        FileChannel ch = null;
        try {
            Files.createDirectories(dataDir);
            ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            FileLock lock = ch.tryLock();
            if (lock == null) {
                throw new IOException("locked by another process");
            }
            UsageJournal j = new UsageJournal(file, ch, lock);
            j.append(new Object[] {"J", 0});
            return j;
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "no usage journal in {} ({}): usage counts not yet in Redis are lost if the server dies",
                    dataDir,
                    e.toString());
            if (ch != null) {
                try {
                    ch.close();
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // nothing was written to it
                }
            }
            return null;
        }
    }

    /**
     * Writes {@code line} as a journal of its own (a request counted after the server's journal was closed at
     * shutdown); logged when it cannot be written.
     */
    static void writeAlone(Path dataDir, Object[] line) {
        Path file = dataDir.resolve(PREFIX + System.currentTimeMillis() + "-" + UUID.randomUUID());
        try {
            byte[] head = JSON.writeValueAsBytes(new Object[] {"J", 0});
            byte[] json = JSON.writeValueAsBytes(line);
            ByteBuffer b = ByteBuffer.allocate(head.length + json.length + 2)
                    .put(head)
                    .put((byte) '\n')
                    .put(json)
                    .put((byte) '\n')
                    .flip();
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.error("could not keep the usage of a request that ended after shutdown in {}: {}", file, e.toString());
        }
    }

    /** Whether the journal still records (a write failed: false). */
    boolean usable() {
        return !broken;
    }

    String name() {
        return file.getFileName() + "#" + generation;
    }

    Path file() {
        return file;
    }

    /** Bytes written since the journal was opened or last cleared. */
    long size() {
        return size;
    }

    /** Appends one line. A failed write deletes the journal (logged): from then on counts live in memory only. */
    void append(Object[] line) {
        if (broken) {
            return;
        }
        try {
            byte[] json = JSON.writeValueAsBytes(line);
            ByteBuffer b = ByteBuffer.allocate(json.length + 1)
                    .put(json)
                    .put((byte) '\n')
                    .flip();
            while (b.hasRemaining()) {
                size += channel.write(b);
            }
        } catch (IOException | RuntimeException e) {
            broken = true;
            LOG.error(
                    "could not write the usage journal {} ({}); it is deleted and usage counts not yet in Redis are"
                            + " lost if the server dies",
                    file,
                    e.toString());
            close();
            try {
                Files.deleteIfExists(file);
            } catch (IOException gone) {
                LOG.error("could not delete the broken usage journal {}: delete it before the next start", file);
            }
        }
    }

    /** Empties the journal (Redis holds every count it names); the next generation's ids differ from this one's. */
    void clear() {
        if (broken) {
            return;
        }
        try {
            channel.truncate(0);
            channel.position(0);
            size = 0;
        } catch (IOException e) {
            LOG.warn("could not empty the usage journal {}: {}", file, e.toString());
            return;
        }
        generation++;
        append(new Object[] {"J", generation});
    }

    /** Forces what was written to the disk; false (logged) when it could not. */
    boolean sync() {
        if (broken) {
            return false;
        }
        try {
            channel.force(false);
            return true;
        } catch (IOException e) {
            LOG.warn("could not sync the usage journal {}: {}", file, e.toString());
            return false;
        }
    }

    void close() {
        try {
            if (lock.isValid()) {
                lock.release();
            }
            channel.close();
        } catch (IOException e) {
            LOG.debug("closing the usage journal {}: {}", file, e.toString());
        }
    }

    /** The journals in {@code dataDir} of servers no longer running (their locks are free), oldest first. */
    static List<Path> orphans(Path dataDir, UsageJournal own) {
        List<Path> out = new ArrayList<>();
        List<Path> files;
        try (var list = Files.list(dataDir)) {
            files = list.filter(f -> f.getFileName().toString().startsWith(PREFIX))
                    .filter(f -> own == null || !f.equals(own.file))
                    .sorted()
                    .toList();
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            LOG.error("could not list {} for usage journals: {}", dataDir, e.toString());
            return out;
        }
        for (Path f : files) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                FileLock lock = ch.tryLock();
                if (lock != null) {
                    lock.release();
                    out.add(f);
                }
            } catch (OverlappingFileLockException e) {
                // a journal of this process's own (another server in the same JVM, in tests)
            } catch (IOException e) {
                LOG.error("could not read the usage journal {}: {}", f, e.toString());
            }
        }
        return out;
    }

    /** What a dead server's journal holds that Redis may not have: batches in order, ids kept. */
    record Recovered(List<UsageStats.Batch> batches) {}

    /**
     * Reads a journal: its batches not confirmed, in order, and its counts not yet in a batch as one more batch (more
     * than {@link UsageStats#BATCH_KEYS} entries: several) named after the file, its generation and its length, so
     * that reading the same journal again names them alike. A line cut short (the machine stopped mid-write) or
     * unreadable is skipped and logged with its number. Null (logged) when the file cannot be read.
     */
    static Recovered read(Path f) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (IOException e) {
            LOG.error("could not read the usage journal {} (left in place): {}", f, e.toString());
            return null;
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        Map<String, long[]> open = new HashMap<>();
        LinkedHashMap<String, Map<String, long[]>> batches = new LinkedHashMap<>();
        long generation = 0;
        int start = 0;
        int lineNo = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            lineNo++;
            if (end < 0) {
                LOG.warn("{} line {}: cut short (the machine stopped while it was written); skipped", f, lineNo);
                break;
            }
            String line = text.substring(start, end);
            start = end + 1;
            try {
                JsonNode a = JSON.readTree(line);
                switch (a.path(0).asText()) {
                    case "J" -> generation = a.path(1).asLong();
                    case "R" -> {
                        String minute = a.path(1).asText();
                        String deployment = a.path(3).asText();
                        int prompt = a.path(5).asInt();
                        int completion = a.path(6).asInt();
                        add(open, minute + ":key:" + a.path(2).asLong(), prompt, completion);
                        add(open, minute + ":deployment:" + deployment, prompt, completion);
                        if (!a.path(4).isNull()) {
                            add(
                                    open,
                                    minute + ":adapter:" + deployment + ":"
                                            + a.path(4).asText(),
                                    prompt,
                                    completion);
                        }
                    }
                    case "B" -> {
                        // a batch holds every count before it that an earlier batch does not
                        open.clear();
                        Map<String, long[]> counts = new HashMap<>();
                        for (Iterator<Map.Entry<String, JsonNode>> it =
                                        a.path(2).fields();
                                it.hasNext(); ) {
                            Map.Entry<String, JsonNode> e = it.next();
                            JsonNode v = e.getValue();
                            counts.put(e.getKey(), new long[] {
                                v.path(0).asLong(),
                                v.path(1).asLong(),
                                v.path(2).asLong()
                            });
                        }
                        batches.put(a.path(1).asText(), counts);
                    }
                    case "A" -> batches.remove(a.path(1).asText());
                    default -> throw new IOException("unknown line type " + a.path(0));
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("{} line {}: not a journal line ({}); skipped", f, lineNo, e.toString());
            }
        }
        List<UsageStats.Batch> out = new ArrayList<>();
        batches.forEach((id, counts) -> out.add(new UsageStats.Batch(id, counts)));
        if (!open.isEmpty()) {
            String base = f.getFileName() + "#" + generation + "@" + bytes.length;
            Map<String, long[]> batch = new HashMap<>();
            int n = 0;
            for (Map.Entry<String, long[]> e : open.entrySet()) {
                batch.put(e.getKey(), e.getValue());
                if (batch.size() == UsageStats.BATCH_KEYS) {
                    out.add(new UsageStats.Batch(n == 0 ? base : base + "/" + n, batch));
                    n++;
                    batch = new HashMap<>();
                }
            }
            if (!batch.isEmpty()) {
                out.add(new UsageStats.Batch(n == 0 ? base : base + "/" + n, batch));
            }
        }
        return new Recovered(out);
    }

    private static void add(Map<String, long[]> counts, String key, int prompt, int completion) {
        long[] a = counts.computeIfAbsent(key, k -> new long[3]);
        a[0]++;
        a[1] += prompt;
        a[2] += completion;
    }
}
