package io.twinserve.engine.live;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.engine.serve.LiveReplicas;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.profile.Profiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A live loop that fails (a backend or device error inside a step) ends the requests whose tokens were seen with
 * the error, and hands every request that had streamed nothing, or whose sink can forget what it heard, to its
 * {@link LiveEngine.Rescue}, which runs them elsewhere from the start, their wait counted; later submissions are
 * refused naming the failure.
 */
class LiveEngineFailureTest {
    /** One sequence at a time, so that later requests wait while the first runs. */
    private static ResolvedReplica replica() throws Exception {
        return Deployments.resolve(Deployments.parse("""
                        model: llama-3.1-8b
                        gpu: h100-sxm-80gb
                        replica:
                          max_num_seqs: 1
                          max_num_batched_tokens: 64
                          max_model_len: 1024
                        """, Path.of("failure.yaml")), Profiles.builtIn());
    }

    private static final Detokenizer TEXT = () -> id -> "t" + id + " ";

    /**
     * The fault, at a fixed point of the first request's run: its third step waits until the test has queued the
     * others (so that the loop admits them behind it), its fifth fails.
     */
    private static final class Fault implements StepObserver {
        final CountDownLatch queued = new CountDownLatch(1);
        private int steps;

        @Override
        public void onStep(io.twinserve.twin.perf.StepShape shape, long stepNs, long adapterLoadNs) {
            steps++;
            if (steps == 3) {
                try {
                    queued.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (steps == 5) {
                throw new IllegalStateException("device fault (injected)");
            }
        }
    }

    /** What a request's sink heard. */
    private record Heard(AtomicInteger tokens, CompletableFuture<Completion> done, TokenSink sink) {
        static Heard of(CountDownLatch firstToken) {
            AtomicInteger tokens = new AtomicInteger();
            CompletableFuture<Completion> done = new CompletableFuture<>();
            return new Heard(tokens, done, new TokenSink() {
                @Override
                public void onToken(int tokenId, String text) {
                    tokens.incrementAndGet();
                    firstToken.countDown();
                }

                @Override
                public void onFinished(Completion completion) {
                    done.complete(completion);
                }
            });
        }
    }

    @Test
    void requestsThatStreamedNothingAreHandedOverAndTheRestEndWithTheError() throws Exception {
        ResolvedReplica resolved = replica();
        Fault fault = new Fault();
        try (LiveReplicas.Replica broken = LiveReplicas.simulated(resolved, 1000, TEXT, fault);
                LiveReplicas.Replica spare = LiveReplicas.simulated(resolved, 1000, TEXT)) {
            List<Long> waited = new ArrayList<>();
            broken.engine().onFailure((request, sink, waitedNs) -> {
                waited.add(waitedNs);
                spare.engine().submit(request, sink, waitedNs);
                return true;
            });
            int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8};
            Heard running = Heard.of(new CountDownLatch(1));
            // told once, after every request was handed over or ended (a deployment restarts the replica there)
            AtomicInteger failedCalls = new AtomicInteger();
            CompletableFuture<String> afterFailure = new CompletableFuture<>();
            broken.engine().whenFailed(() -> {
                failedCalls.incrementAndGet();
                afterFailure.complete(waited.size() + " handed over, cut one ended: "
                        + running.done().isDone());
            });
            broken.engine().submit(new GenerationRequest(null, prompt, SamplingParams.greedy(400), 0), running.sink());
            List<Heard> queued = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Heard h = Heard.of(new CountDownLatch(1));
                broken.engine().submit(new GenerationRequest(null, prompt, SamplingParams.greedy(5), 60_000), h.sink());
                queued.add(h);
            }
            fault.queued.countDown();

            Completion cut = running.done().get(30, TimeUnit.SECONDS);
            assertThat(cut.reason()).isEqualTo(Completion.FinishReason.ERROR);
            assertThat(cut.error()).contains("device fault (injected)");
            // the four steps before the fault streamed theirs
            assertThat(running.tokens().get()).isEqualTo(4);
            for (Heard h : queued) {
                Completion c = h.done().get(30, TimeUnit.SECONDS);
                // run again from the start on the spare: the whole answer, nothing streamed twice
                assertThat(c.reason()).as("%s", c).isEqualTo(Completion.FinishReason.LENGTH);
                assertThat(c.completionTokens()).isEqualTo(5);
                assertThat(h.tokens().get()).isEqualTo(5);
                assertThat(c.error()).isNull();
            }
            assertThat(waited).hasSize(3);
            // the TTFT the spare reports counts the wait on the failed replica
            for (int i = 0; i < queued.size(); i++) {
                Completion c = queued.get(i).done().get();
                assertThat(c.ttftNs()).isGreaterThanOrEqualTo(waited.get(i));
            }
            assertThat(broken.engine().failed()).isTrue();
            assertThat(broken.engine().failureMessage()).contains("device fault (injected)");
            assertThat(afterFailure.get(30, TimeUnit.SECONDS)).isEqualTo("3 handed over, cut one ended: true");
            assertThat(failedCalls.get()).isEqualTo(1);
            assertThat(spare.engine().failed()).isFalse();
            assertThatThrownBy(() -> broken.engine()
                            .submit(
                                    new GenerationRequest(null, prompt, SamplingParams.greedy(5), 0),
                                    Heard.of(new CountDownLatch(1)).sink()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("device fault (injected)");
        }
    }

    /**
     * A closing loop refuses new requests but takes further sequences of the requests it holds (a later choice of
     * {@code n}, a rescued request) while it finishes them; once it has stopped it takes nothing, and nothing is left
     * queued unanswered.
     */
    @Test
    void aClosingLoopTakesSequencesAlongsideWhatItHoldsAndNothingOnceStopped() throws Exception {
        ResolvedReplica resolved = replica();
        LiveReplicas.Replica replica = LiveReplicas.simulated(resolved, 1, TEXT);
        int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8};
        CountDownLatch first = new CountDownLatch(1);
        // real time: 300 decode steps keep the loop busy for seconds after the close begins
        Heard running = Heard.of(first);
        replica.engine().submit(new GenerationRequest(null, prompt, SamplingParams.greedy(300), 0), running.sink());
        assertThat(first.await(30, TimeUnit.SECONDS)).isTrue();
        Thread closer = Thread.ofPlatform().start(replica::close);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            boolean refused = false;
            while (!refused && System.nanoTime() < deadline) {
                try {
                    replica.engine()
                            .submit(
                                    new GenerationRequest(null, prompt, SamplingParams.greedy(1), 0),
                                    Heard.of(new CountDownLatch(1)).sink());
                    Thread.sleep(1);
                } catch (IllegalStateException e) {
                    assertThat(e).hasMessageContaining("shutting down");
                    refused = true;
                }
            }
            assertThat(refused)
                    .as("a new request is refused once the close began")
                    .isTrue();
            assertThat(running.done()).isNotDone();
            Heard alongside = Heard.of(new CountDownLatch(1));
            replica.engine()
                    .submitAlongside(
                            new GenerationRequest(null, prompt, SamplingParams.greedy(5), 0), alongside.sink(), 0);
            assertThat(alongside.done().get(30, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
            assertThat(running.done().get(30, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
        } finally {
            closer.join();
        }
        assertThatThrownBy(() -> replica.engine()
                        .submitAlongside(
                                new GenerationRequest(null, prompt, SamplingParams.greedy(5), 0),
                                Heard.of(new CountDownLatch(1)).sink(),
                                0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("has shut down");
    }

    @Test
    void aRequestCutMidAnswerMovesWhenItsSinkCanForgetWhatItHeard() throws Exception {
        ResolvedReplica resolved = replica();
        Fault fault = new Fault();
        try (LiveReplicas.Replica broken = LiveReplicas.simulated(resolved, 1000, TEXT, fault);
                LiveReplicas.Replica spare = LiveReplicas.simulated(resolved, 1000, TEXT)) {
            broken.engine().onFailure((request, sink, waitedNs) -> {
                spare.engine().submit(request, sink, waitedNs);
                return true;
            });
            AtomicInteger tokens = new AtomicInteger();
            AtomicInteger rewinds = new AtomicInteger();
            CompletableFuture<Completion> done = new CompletableFuture<>();
            // an answer returned whole at its end: nobody has seen its tokens, so it may start over
            TokenSink whole = new TokenSink() {
                @Override
                public void onToken(int tokenId, String text) {
                    tokens.incrementAndGet();
                }

                @Override
                public void onFinished(Completion completion) {
                    done.complete(completion);
                }

                @Override
                public boolean rewind() {
                    rewinds.incrementAndGet();
                    tokens.set(0);
                    return true;
                }
            };
            broken.engine()
                    .submit(new GenerationRequest(null, new int[] {1, 2, 3}, SamplingParams.greedy(40), 0), whole);
            fault.queued.countDown();
            Completion c = done.get(30, TimeUnit.SECONDS);
            assertThat(c.reason()).as("%s", c).isEqualTo(Completion.FinishReason.LENGTH);
            assertThat(c.completionTokens()).isEqualTo(40);
            assertThat(rewinds.get()).isEqualTo(1);
            // the four heard before the fault were forgotten; the answer was heard once, whole, from the spare
            assertThat(tokens.get()).isEqualTo(40);
            assertThat(broken.engine().failed()).isTrue();
        }
    }

    /** A request cancelled while the step that fails runs ends as cancelled: it is neither rescued nor failed. */
    @Test
    void aRequestCancelledAsTheLoopFailsEndsCancelled() throws Exception {
        CountDownLatch atFault = new CountDownLatch(1);
        CountDownLatch cancelled = new CountDownLatch(1);
        StepObserver fault = new StepObserver() {
            private int steps;

            @Override
            public void onStep(io.twinserve.twin.perf.StepShape shape, long stepNs, long adapterLoadNs) {
                if (++steps == 3) {
                    atFault.countDown();
                    try {
                        cancelled.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    throw new IllegalStateException("device fault (injected)");
                }
            }
        };
        try (LiveReplicas.Replica broken = LiveReplicas.simulated(replica(), 1000, TEXT, fault);
                LiveReplicas.Replica spare = LiveReplicas.simulated(replica(), 1000, TEXT)) {
            AtomicInteger rescued = new AtomicInteger();
            broken.engine().onFailure((request, sink, waitedNs) -> {
                rescued.incrementAndGet();
                spare.engine().submit(request, sink, waitedNs);
                return true;
            });
            int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8};
            Heard running = Heard.of(new CountDownLatch(1));
            broken.engine().submit(new GenerationRequest(null, prompt, SamplingParams.greedy(400), 0), running.sink());
            Heard gone = Heard.of(new CountDownLatch(1));
            LiveEngine.Handle handle = broken.engine()
                    .submit(new GenerationRequest(null, prompt, SamplingParams.greedy(5), 0), gone.sink());
            Heard kept = Heard.of(new CountDownLatch(1));
            broken.engine().submit(new GenerationRequest(null, prompt, SamplingParams.greedy(5), 0), kept.sink());
            assertThat(atFault.await(30, TimeUnit.SECONDS)).isTrue();
            // the client leaves while the failing step runs: the loop never takes the cancellation itself
            handle.cancel();
            cancelled.countDown();
            assertThat(gone.done().get(30, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.CANCELLED);
            assertThat(kept.done().get(30, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
            assertThat(running.done().get(30, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.ERROR);
            assertThat(rescued.get()).isEqualTo(1);
        }
    }

    @Test
    void withoutARescueOrWhenItDeclinesEveryRequestEndsWithTheError() throws Exception {
        Fault fault = new Fault();
        try (LiveReplicas.Replica broken = LiveReplicas.simulated(replica(), 1000, TEXT, fault)) {
            AtomicInteger asked = new AtomicInteger();
            broken.engine().onFailure((request, sink, waitedNs) -> {
                asked.incrementAndGet();
                if (asked.get() == 1) {
                    throw new IllegalStateException("no replica left");
                }
                return false;
            });
            int[] prompt = {1, 2, 3};
            Heard running = Heard.of(new CountDownLatch(1));
            broken.engine().submit(new GenerationRequest(null, prompt, SamplingParams.greedy(400), 0), running.sink());
            Heard a = Heard.of(new CountDownLatch(1));
            Heard b = Heard.of(new CountDownLatch(1));
            broken.engine().submit(new GenerationRequest(null, prompt, SamplingParams.greedy(5), 0), a.sink());
            broken.engine().submit(new GenerationRequest(null, prompt, SamplingParams.greedy(5), 0), b.sink());
            fault.queued.countDown();
            Completion ca = a.done().get(30, TimeUnit.SECONDS);
            Completion cb = b.done().get(30, TimeUnit.SECONDS);
            assertThat(List.of(ca.reason(), cb.reason())).containsOnly(Completion.FinishReason.ERROR);
            // the one whose rescue threw says why it could not move
            assertThat(List.of(ca.error(), cb.error()))
                    .anySatisfy(
                            e -> assertThat(e).contains("no other replica could take the request: no replica left"));
            assertThat(asked.get()).isEqualTo(2);
            assertThat(running.done().get(30, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.ERROR);
        }
    }
}
