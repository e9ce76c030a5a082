package io.twinserve.experiments.bench;

import io.twinserve.engine.sample.Sampler;
import io.twinserve.engine.sample.SamplingParams;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * JMH: one request's sampling on Llama 3's vocabulary (128,256 logits, Gaussian), per token, with the
 * request's setup (its sampler, penalty counts over a 1,000-token prompt) spread over its 256 tokens:
 * plain temperature sampling against each of the OpenAI/vLLM options, so {@code -prof gc} shows what an
 * option allocates per token (nothing once the request's scratch exists).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SamplerBenchmark {
    private static final int VOCAB = 128_256;
    private static final int TOKENS = 256;

    /** Which options the request sets. */
    @Param({"plain", "top_p", "penalties", "logit_bias", "min_p", "logprobs"})
    public String options;

    private float[] logits;
    private int[] prompt;
    private SamplingParams params;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(7);
        logits = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            logits[i] = (float) (random.nextDouble() * 2 - 1) * 4;
        }
        prompt = new int[1000];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = random.nextInt(VOCAB);
        }
        Map<Integer, Float> bias = new HashMap<>();
        for (int i = 0; i < 16; i++) {
            bias.put(random.nextInt(VOCAB), -100f);
        }
        params = switch (options) {
            case "plain" -> params(1, 0, 0, 1, 0, Map.of(), -1);
            case "top_p" -> params(0.9, 0, 0, 1, 0, Map.of(), -1);
            case "penalties" -> params(1, 0.5, 0.5, 1.1, 0, Map.of(), -1);
            case "logit_bias" -> params(1, 0, 0, 1, 0, bias, -1);
            case "min_p" -> params(1, 0, 0, 1, 0.05, Map.of(), -1);
            case "logprobs" -> params(1, 0, 0, 1, 0, Map.of(), 20);
            default -> throw new IllegalArgumentException("unknown options " + options);
        };
    }

    private static SamplingParams params(
            double topP,
            double presence,
            double frequency,
            double repetition,
            double minP,
            Map<Integer, Float> bias,
            int logprobs) {
        return new SamplingParams(
                1.0,
                0,
                topP,
                1,
                TOKENS,
                List.of(),
                List.of(),
                false,
                presence,
                frequency,
                repetition,
                minP,
                bias,
                logprobs);
    }

    @Benchmark
    @OperationsPerInvocation(TOKENS)
    public int request() {
        Sampler sampler = new Sampler(params, prompt);
        int sum = 0;
        for (int t = 0; t < TOKENS; t++) {
            sum += sampler.sample(logits, 0, VOCAB);
        }
        return sum;
    }
}
