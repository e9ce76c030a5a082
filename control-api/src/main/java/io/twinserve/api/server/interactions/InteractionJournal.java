package io.twinserve.api.server.interactions;

import io.twinserve.api.server.infra.JournalFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server's interaction journal ({@link InteractionWriter}): every interaction is appended, one JSON line, before
 * it is queued for PostgreSQL, so a server that dies (kill -9, out of memory) loses none of those it had not written.
 * The journal is a chain of segment files {@code interactions.journal.*} in the data folder, each locked while the
 * server lives. The writer starts a new segment when it takes everything queued into its batch, or when the segment
 * has grown past a bound while a backlog lasts (the queue never empties then, and one segment would hold every row
 * of the backlog however long it lasted); a retired segment remembers how many rows had been queued when it was
 * retired, and is deleted once the writer has written that many (the queue is first in, first out), so a backlog
 * keeps on disk about the rows it has not written, not every row since it began. Rows that went to the spill file
 * instead of the queue are in that file. The next start appends the segments of a server that died (their locks are
 * free) to the spill file, which is loaded like any spill: rows already written are skipped by their request id.
 * Callers synchronize on the journal.
 *
 * <p>Written with plain writes, not synced: what is written outlives the process, not the machine.
 */
final class InteractionJournal {
    private static final Logger LOG = LoggerFactory.getLogger(InteractionJournal.class);
    static final String PREFIX = "interactions.journal.";

    private final Path dataDir;
    private JournalFiles.Live current;
    /** Bytes appended to the current segment. */
    private long currentBytes;
    /** Retired segments, oldest first: deleted once the rows queued before their retirement are written. */
    private final List<Retired> retired = new ArrayList<>();

    /** A segment no longer appended to; every row in it was queued among the first {@code through} (or spilled). */
    private record Retired(JournalFiles.Live file, long through) {}
    /** Set when a write failed: journaling stops (logged) and the files are left for the next start. */
    private boolean broken;

    private InteractionJournal(Path dataDir, JournalFiles.Live first) {
        this.dataDir = dataDir;
        this.current = first;
    }

    /** A new journal in {@code dataDir}, or null (logged) when the folder cannot hold one. */
    static InteractionJournal open(Path dataDir) {
        try {
            return new InteractionJournal(dataDir, JournalFiles.create(dataDir, PREFIX, new byte[0]));
        } catch (IOException | RuntimeException e) {
            LOG.error(
                    "no interaction journal in {} ({}): interactions not yet in PostgreSQL are lost if the server dies",
                    dataDir,
                    e.toString());
            return null;
        }
    }

    /** Appends one interaction's JSON line. */
    void append(byte[] json) {
        if (broken) {
            return;
        }
        try {
            byte[] line = java.util.Arrays.copyOf(json, json.length + 1);
            line[json.length] = '\n';
            currentBytes += current.append(line);
        } catch (IOException | RuntimeException e) {
            broken = true;
            LOG.error(
                    "could not write the interaction journal {} ({}); interactions not yet in PostgreSQL are lost if"
                            + " the server dies",
                    current.path(),
                    e.toString());
        }
    }

    /** Bytes appended to the current segment. */
    long currentBytes() {
        return currentBytes;
    }

    /**
     * Starts a new segment; {@code queued}: how many rows have been queued so far (every row of the current segment
     * is among them, or went to the spill file).
     */
    void rotate(long queued) {
        if (broken) {
            return;
        }
        try {
            JournalFiles.Live next = JournalFiles.create(dataDir, PREFIX, new byte[0]);
            retired.add(new Retired(current, queued));
            current = next;
            currentBytes = 0;
        } catch (IOException | RuntimeException e) {
            // the current segment goes on; it is retired at a later rotation
            LOG.warn("could not start a new interaction journal segment in {}: {}", dataDir, e.toString());
        }
    }

    /** Deletes the retired segments whose rows are all written: the first {@code written} queued rows are. */
    void deleteRetired(long written) {
        while (!retired.isEmpty() && retired.getFirst().through() <= written) {
            delete(retired.removeFirst().file());
        }
    }

    private static void delete(JournalFiles.Live s) {
        s.close();
        try {
            Files.deleteIfExists(s.path());
        } catch (IOException e) {
            LOG.warn("could not delete {} (its rows are written; the next start skips them): {}", s.path(), e);
        }
    }

    /** Closes every segment, deleting them when {@code written} (everything is in PostgreSQL or the spill file). */
    void close(boolean written) {
        retired.add(new Retired(current, Long.MAX_VALUE));
        for (Retired r : retired) {
            if (written && !broken) {
                delete(r.file());
            } else {
                r.file().close();
            }
        }
        retired.clear();
    }

    /** The segments in {@code dataDir} of servers no longer running (their locks are free), oldest first. */
    static List<Path> orphans(Path dataDir) {
        return JournalFiles.orphans(dataDir, PREFIX);
    }
}
