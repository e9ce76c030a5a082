package io.twinserve.api.server.infra;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files of the server's crash journals (usage, interactions): each is written by one live server, which holds an
 * exclusive lock on it, and a journal whose lock is free belongs to a server that died, for the next start to take
 * over.
 *
 * <p>Three rules keep a live journal from being taken for a dead one. A journal appears under its name only whole
 * and locked: it is written under a temporary name and renamed into place. The files this process holds are known
 * here, and never opened a second time (closing any descriptor of a file drops every lock the process holds on it, so
 * probing its own file would unlock it). Writes go through {@link RandomAccessFile}, which an interrupted thread does
 * not close, unlike a {@code FileChannel}.
 */
public final class JournalFiles {
    private static final Logger LOG = LoggerFactory.getLogger(JournalFiles.class);
    private static final String TEMPORARY = ".tmp.";
    /** The journals this process holds locked. */
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();

    private JournalFiles() {}

    /** A journal file this process writes, locked until {@link #close}. Callers synchronize. */
    public static final class Live {
        private Path path;
        private RandomAccessFile file;
        private FileLock lock;

        private Live(Path path, RandomAccessFile file, FileLock lock) {
            this.path = path;
            this.file = file;
            this.lock = lock;
        }

        public Path path() {
            return path;
        }

        /** Appends {@code bytes} whole; returns their length. */
        public long append(byte[] bytes) throws IOException {
            file.write(bytes);
            return bytes.length;
        }

        public long size() throws IOException {
            return file.length();
        }

        /**
         * Replaces the file's content with {@code bytes} at once: a new file, locked and written under a temporary
         * name, renamed over this one. A crash at any point leaves the old content or the new. Returns the new size.
         */
        public long replace(byte[] bytes) throws IOException {
            Live next = temporary(path.getParent(), path.getFileName().toString(), bytes);
            try {
                Files.move(next.path, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException | RuntimeException e) {
                next.releaseQuietly();
                Files.deleteIfExists(next.path);
                throw e;
            } finally {
                LIVE.remove(next.path);
            }
            // the old file is gone from the folder; its descriptor and lock go with it
            releaseQuietly();
            file = next.file;
            lock = next.lock;
            return bytes.length;
        }

        public void sync() throws IOException {
            file.getFD().sync();
        }

        /** Releases the lock and closes the file, which stays (a later start takes it over unless deleted). */
        public void close() {
            releaseQuietly();
            LIVE.remove(path);
        }

        private void releaseQuietly() {
            try {
                if (lock.isValid()) {
                    lock.release();
                }
                file.close();
            } catch (IOException e) {
                LOG.debug("closing {}: {}", path, e.toString());
            }
        }
    }

    /** A new journal {@code dir/PREFIX<time>-<uuid>} holding {@code initial}, locked by this process. */
    public static Live create(Path dir, String prefix, byte[] initial) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve(prefix + System.currentTimeMillis() + "-" + UUID.randomUUID());
        Live live = temporary(dir, target.getFileName().toString(), initial);
        LIVE.add(target);
        try {
            Files.move(live.path, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            LIVE.remove(target);
            live.releaseQuietly();
            Files.deleteIfExists(live.path);
            throw e;
        } finally {
            LIVE.remove(live.path);
        }
        live.path = target;
        return live;
    }

    private static Live temporary(Path dir, String name, byte[] content) throws IOException {
        Path tmp = dir.resolve(TEMPORARY + name + "." + UUID.randomUUID());
        // known before it exists: another server of this process never probes it
        LIVE.add(tmp);
        RandomAccessFile f;
        try {
            f = new RandomAccessFile(tmp.toFile(), "rw");
        } catch (IOException | RuntimeException e) {
            LIVE.remove(tmp);
            throw e;
        }
        try {
            FileLock lock = f.getChannel().tryLock();
            if (lock == null) {
                throw new IOException(tmp + " is locked by another process");
            }
            f.write(content);
            return new Live(tmp, f, lock);
        } catch (IOException | RuntimeException e) {
            f.close();
            Files.deleteIfExists(tmp);
            LIVE.remove(tmp);
            throw e;
        }
    }

    /**
     * The journals {@code dir/PREFIX*} of servers no longer running (their locks are free), oldest first. Temporary
     * files a dead server left (a journal never published, or a rewrite whose old content is still in place) are
     * deleted.
     */
    public static List<Path> orphans(Path dir, String prefix) {
        List<Path> out = new ArrayList<>();
        List<Path> files;
        try (var list = Files.list(dir)) {
            files = list.filter(f -> {
                        String n = f.getFileName().toString();
                        return n.startsWith(prefix) || n.startsWith(TEMPORARY + prefix);
                    })
                    .filter(f -> !LIVE.contains(f))
                    .sorted()
                    .toList();
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            LOG.error("could not list {} for journals: {}", dir, e.toString());
            return out;
        }
        for (Path f : files) {
            boolean free;
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                FileLock lock = raf.getChannel().tryLock();
                free = lock != null;
                if (free) {
                    lock.release();
                }
            } catch (OverlappingFileLockException e) {
                free = false;
            } catch (IOException e) {
                LOG.error("could not read the journal {}: {}", f, e.toString());
                continue;
            }
            if (!free) {
                continue;
            }
            if (f.getFileName().toString().startsWith(TEMPORARY)) {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException e) {
                    LOG.warn("could not delete the unfinished journal file {}: {}", f, e.toString());
                }
            } else {
                out.add(f);
            }
        }
        return out;
    }
}
