package io.twinserve.twin.exec;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntConsumer;

/** Runs independent work items on a fixed number of threads, keeping the items' order in the results. */
public final class Parallel {
    private Parallel() {}

    /**
     * Applies {@code work} to every item on {@code threads} threads; {@code progress} hears the count of
     * items done as each finishes. The first failure cancels the rest and is rethrown as it was thrown
     * (a checked exception arrives wrapped in an {@link IllegalStateException}).
     */
    public static <T, R> List<R> map(List<T> items, int threads, Function<T, R> work, IntConsumer progress) {
        AtomicInteger done = new AtomicInteger();
        try (ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads))) {
            List<Future<R>> futures = new ArrayList<>(items.size());
            for (T item : items) {
                futures.add(pool.submit(() -> {
                    R r = work.apply(item);
                    progress.accept(done.incrementAndGet());
                    return r;
                }));
            }
            List<R> out = new ArrayList<>(items.size());
            for (Future<R> f : futures) {
                try {
                    out.add(f.get());
                } catch (ExecutionException e) {
                    pool.shutdownNow();
                    if (e.getCause() instanceof RuntimeException r) {
                        throw r;
                    }
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    pool.shutdownNow();
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
            }
            return out;
        }
    }
}
