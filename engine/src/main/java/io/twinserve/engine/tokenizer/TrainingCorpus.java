package io.twinserve.engine.tokenizer;

/**
 * The small English and code text that written test tokenizers learn their merges from; written for this
 * project, so it carries no licence of its own.
 */
final class TrainingCorpus {
    static final String TEXT = """
            The engine serves language models to many users at once. Each request arrives with a prompt, \
            waits in a queue, and is scheduled onto a replica when there is room in its key-value cache. \
            The scheduler decides which requests run in the next step: new prompts are prefilled in chunks, \
            and running requests decode one token at a time. When the cache is full, the newest request is \
            preempted and its blocks are freed; it will be recomputed later. Throughput is measured in tokens \
            per second, latency as time to first token and time per output token.
            A tokenizer turns text into token ids and back. Byte-level BPE starts from the 256 byte values and \
            merges the most frequent adjacent pairs, so every string can be encoded and nothing is unknown. \
            Special tokens mark the start of text, the end of a turn, and the roles of a conversation.
            Hello, world! How are you today? I'm fine, thanks. We're testing the model; they'll see the results. \
            It's a small model with random weights, so what it says doesn't matter, but its shapes must be right. \
            Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 256 1024 4096 65536 3.14159 2.71828 1e-5 -1 +7.
            The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. \
            Sphinx of black quartz, judge my vow. How vexingly quick daft zebras jump!
            In the beginning the simulator was a digital twin: the same scheduler runs against a model of the \
            hardware instead of the hardware itself. Time advances from event to event. Requests arrive, steps \
            complete, adapters load, and deadlines pass. Metrics listen to the events and report percentiles.
            public final class Scheduler {
                private final Deque<Request> waiting = new ArrayDeque<>();
                private final List<Request> running = new ArrayList<>();

                public Step nextStep(long nowNs) {
                    int budget = maxBatchTokens;
                    for (Request request : running) {
                        budget -= 1;
                    }
                    while (!waiting.isEmpty() && budget > 0) {
                        Request request = waiting.poll();
                        int chunk = Math.min(budget, request.remainingPromptTokens());
                        budget -= chunk;
                        running.add(request);
                    }
                    return new Step(nowNs, List.copyOf(running));
                }
            }
            def softmax(logits, temperature=1.0):
                scaled = [x / temperature for x in logits]
                top = max(scaled)
                exps = [math.exp(x - top) for x in scaled]
                total = sum(exps)
                return [x / total for x in exps]

            for i in range(10):
                print(f"step {i}: loss={loss:.4f} lr={lr:.2e}")
            const server = http.createServer((req, res) => {
              res.writeHead(200, { "Content-Type": "application/json" });
              res.end(JSON.stringify({ ok: true, tokens: [1, 2, 3] }));
            });
            server.listen(8080);
            fn attention(q: &[f32], k: &[f32], v: &[f32], out: &mut [f32]) {
                let scale = 1.0 / (q.len() as f32).sqrt();
                for (i, o) in out.iter_mut().enumerate() {
                    *o = q[i] * k[i] * scale + v[i];
                }
            }
            SELECT model, avg(ttft_ms) AS mean_ttft FROM runs WHERE status = 'done' GROUP BY model;
            {"model": "tiny", "vocab_size": 512, "hidden_size": 64, "num_layers": 2, "rope_theta": 10000.0}
            <html><body><h1>Title</h1><p>Some text &amp; more text.</p></body></html>
            # Configuration
            max_batch_tokens: 8192
            kv_cache_tokens: 65536
            scheduler: { type: chunked_prefill, chunk_tokens: 512 }
            Les modèles de langue répondent aux questions. Die Modelle antworten schnell. Los modelos responden.
            Модели отвечают на вопросы. 模型回答问题。 モデルは質問に答えます。 모델이 질문에 답합니다. 🙂👍
            """;

    private TrainingCorpus() {}
}
