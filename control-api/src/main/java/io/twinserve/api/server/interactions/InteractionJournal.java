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
    private JournalFiles.Live current;
    /** Segments whose every row is in the writer's batch or written before it. */
    private final List<JournalFiles.Live> retired = new ArrayList<>();
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
            current.append(line);
        } catch (IOException | RuntimeException e) {
            broken = true;
            LOG.error(
                    "could not write the interaction journal {} ({}); interactions not yet in PostgreSQL are lost if"
                            + " the server dies",
                    current.path(),
                    e.toString());
        }
    }

    /** Starts a new segment: every row of the ones before is in the writer's batch or was written before it. */
    void rotate() {
        if (broken) {
            return;
        }
        try {
            JournalFiles.Live next = JournalFiles.create(dataDir, PREFIX, new byte[0]);
            retired.add(current);
            current = next;
        } catch (IOException | RuntimeException e) {
            // the current segment goes on; it is retired at a later rotation
            LOG.warn("could not start a new interaction journal segment in {}: {}", dataDir, e.toString());
        }
    }

    /** Deletes the retired segments: their rows are in PostgreSQL or in the spill file. */
    void deleteRetired() {
        for (JournalFiles.Live s : retired) {
            s.close();
            try {
                Files.deleteIfExists(s.path());
            } catch (IOException e) {
                LOG.warn("could not delete {} (its rows are written; the next start skips them): {}", s.path(), e);
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
            for (JournalFiles.Live s : retired) {
                s.close();
            }
            retired.clear();
        }
    }

    /** The segments in {@code dataDir} of servers no longer running (their locks are free), oldest first. */
    static List<Path> orphans(Path dataDir) {
        return JournalFiles.orphans(dataDir, PREFIX);
    }
}
