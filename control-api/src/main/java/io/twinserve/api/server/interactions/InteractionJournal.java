package io.twinserve.api.server.interactions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server's interaction journal ({@link InteractionWriter}): every interaction is appended, one JSON line, before
 * it is queued for PostgreSQL, so a server that dies (kill -9, out of memory) loses none of those it had not written.
 * The journal is a chain of segment files {@code interactions.journal.*} in the data folder, each locked while the
 * server lives: when the writer takes everything queued into its batch it starts a new segment, and deletes the
 * older ones once that batch is in the database (or in the spill file). The next start appends the segments of a
 * server that died (their locks are free) to the spill file, which is loaded like any spill: rows already written
 * are skipped by their request id. Callers synchronize on the journal.
 *
 * <p>Written with plain writes, not synced: what is written outlives the process, not the machine.
 */
final class InteractionJournal {
    private static final Logger LOG = LoggerFactory.getLogger(InteractionJournal.class);
    static final String PREFIX = "interactions.journal.";

    private final Path dataDir;
    private Segment current;
    /** Segments whose every row is in the writer's batch or written before it. */
    private final List<Segment> retired = new ArrayList<>();
    /** Set when a write failed: journaling stops (logged) and the files are left for the next start. */
    private boolean broken;

    private record Segment(Path file, FileChannel channel, FileLock lock) {
        void close() {
            try {
                if (lock.isValid()) {
                    lock.release();
                }
                channel.close();
            } catch (IOException e) {
                LOG.debug("closing {}: {}", file, e.toString());
            }
        }
    }

    private InteractionJournal(Path dataDir, Segment first) {
        this.dataDir = dataDir;
        this.current = first;
    }

    /** A new journal in {@code dataDir}, or null (logged) when the folder cannot hold one. */
    static InteractionJournal open(Path dataDir) {
        try {
            Files.createDirectories(dataDir);
            return new InteractionJournal(dataDir, segment(dataDir));
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "no interaction journal in {} ({}): interactions not yet in PostgreSQL are lost if the server dies",
                    dataDir,
                    e.toString());
            return null;
        }
    }

    private static Segment segment(Path dataDir) throws IOException {
        Path file = dataDir.resolve(PREFIX + System.currentTimeMillis() + "-" + UUID.randomUUID());
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileLock lock = ch.tryLock();
        if (lock == null) {
            ch.close();
            throw new IOException(file + " is locked by another process");
        }
        return new Segment(file, ch, lock);
    }

    /** Appends one interaction's JSON line. */
    void append(byte[] json) {
        if (broken) {
            return;
        }
        try {
            ByteBuffer b = ByteBuffer.allocate(json.length + 1)
                    .put(json)
                    .put((byte) '\n')
                    .flip();
            while (b.hasRemaining()) {
                current.channel().write(b);
            }
        } catch (IOException | RuntimeException e) {
            broken = true;
            LOG.error(
                    "could not write the interaction journal {} ({}); interactions not yet in PostgreSQL are lost if"
                            + " the server dies",
                    current.file(),
                    e.toString());
        }
    }

    /** Starts a new segment: every row of the ones before is in the writer's batch or was written before it. */
    void rotate() {
        if (broken) {
            return;
        }
        try {
            Segment next = segment(dataDir);
            retired.add(current);
            current = next;
        } catch (IOException | RuntimeException e) {
            // the current segment goes on; it is retired at a later rotation
            LOG.warn("could not start a new interaction journal segment in {}: {}", dataDir, e.toString());
        }
    }

    /** Deletes the retired segments: their rows are in PostgreSQL or in the spill file. */
    void deleteRetired() {
        for (Segment s : retired) {
            s.close();
            try {
                Files.deleteIfExists(s.file());
            } catch (IOException e) {
                LOG.warn("could not delete {} (its rows are written; the next start skips them): {}", s.file(), e);
            }
        }
        retired.clear();
    }

    /** Closes every segment, deleting them when {@code written} (everything is in PostgreSQL or the spill file). */
    void close(boolean written) {
        retired.add(current);
        if (written && !broken) {
            deleteRetired();
        } else {
            for (Segment s : retired) {
                s.close();
            }
            retired.clear();
        }
    }

    /** The segments in {@code dataDir} of servers no longer running (their locks are free), oldest first. */
    static List<Path> orphans(Path dataDir) {
        List<Path> out = new ArrayList<>();
        List<Path> files;
        try (var list = Files.list(dataDir)) {
            files = list.filter(f -> f.getFileName().toString().startsWith(PREFIX))
                    .sorted()
                    .toList();
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            LOG.error("could not list {} for interaction journals: {}", dataDir, e.toString());
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
                // a segment of a server in this same process (tests)
            } catch (IOException e) {
                LOG.error("could not read the interaction journal {}: {}", f, e.toString());
            }
        }
        return out;
    }
}
