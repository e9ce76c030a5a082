package io.twinserve.api.server.jobs;

import java.util.Locale;

/**
 * What the server grants jobs, apart from what it keeps for serving: how many run at once (each in a worker
 * JVM of its own), the heap and processors of each, how long one may run, and how many one user may have
 * queued or running. Read from {@code twinserve.jobs.*} ({@code TWINSERVE_JOBS_*} in the environment).
 *
 * @param workers jobs running at once; more wait queued
 * @param heap the worker's {@code -Xmx}, as the JVM reads it ({@code 2g}, {@code 512m})
 * @param cpus the processors a worker's JVM sizes itself for ({@code -XX:ActiveProcessorCount})
 * @param maxSeconds wall-clock seconds a job may run before it is stopped and failed
 * @param perUser jobs one user (any of their keys) may have queued or running at once
 */
record JobBudget(int workers, String heap, int cpus, long maxSeconds, int perUser) {
    /** Seconds a refused submission is told to wait: about the run of a small what-if. */
    static final int RETRY_AFTER_SECONDS = 30;

    JobBudget {
        if (workers < 1) {
            throw new IllegalArgumentException("twinserve.jobs.workers is " + workers + "; it must be at least 1");
        }
        heapBytes(heap);
        if (cpus < 1) {
            throw new IllegalArgumentException("twinserve.jobs.cpus is " + cpus + "; it must be at least 1");
        }
        if (maxSeconds < 1) {
            throw new IllegalArgumentException(
                    "twinserve.jobs.max-seconds is " + maxSeconds + "; it must be at least 1");
        }
        if (perUser < 1) {
            throw new IllegalArgumentException("twinserve.jobs.per-user is " + perUser + "; it must be at least 1");
        }
    }

    /** The heap in bytes, read as the JVM reads {@code -Xmx} (a number with an optional k, m, g or t). */
    static long heapBytes(String heap) {
        String h = heap == null ? "" : heap.strip().toLowerCase(Locale.ROOT);
        if (!h.matches("[0-9]+[kmgt]?")) {
            throw new IllegalArgumentException("twinserve.jobs.heap is '" + heap
                    + "'; give a size as for -Xmx: a number with k, m, g or t, such as 2g or 512m");
        }
        char unit = h.charAt(h.length() - 1);
        int shift = switch (unit) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            case 't' -> 40;
            default -> 0;
        };
        long number = Long.parseLong(shift == 0 ? h : h.substring(0, h.length() - 1));
        long bytes = number << shift;
        if (bytes < (16L << 20) || (bytes >> shift) != number) {
            throw new IllegalArgumentException(
                    "twinserve.jobs.heap is '" + heap + "'; a job's JVM needs at least 16m to start");
        }
        return bytes;
    }

    /** The heap as a reader says it: "48 MiB", "2 GiB". */
    String heapText() {
        long bytes = heapBytes(heap);
        if (bytes % (1L << 30) == 0) {
            return (bytes >> 30) + " GiB";
        }
        return String.format(Locale.ROOT, "%d MiB", bytes >> 20);
    }
}
