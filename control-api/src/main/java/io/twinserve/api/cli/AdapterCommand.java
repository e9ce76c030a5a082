package io.twinserve.api.cli;

import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve adapter}: writes random LoRA adapters in PEFT layout. */
@Command(
        name = "adapter",
        mixinStandardHelpOptions = true,
        description = "LoRA adapter files.",
        subcommands = {AdapterCommand.InitRandom.class})
final class AdapterCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
            name = "init-random",
            mixinStandardHelpOptions = true,
            description = {
                "Writes a random LoRA adapter for a model directory in PEFT layout (adapter_config.json and "
                        + "adapter_model.safetensors). Unlike PEFT's initialisation, B is random too, so the adapter changes "
                        + "the model's outputs."
            },
            footer = {
                "",
                "Example:",
                "  twinserve adapter init-random --base out/tiny-qwen3 --rank 16 -o out/tiny-qwen3-a1"
            })
    static final class InitRandom implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--base", required = true, description = "the base model directory")
        Path base;

        @Option(names = "--rank", required = true, description = "LoRA rank r, 1 to 256")
        int rank;

        @Option(names = "--alpha", description = "lora_alpha (default: 2 x rank)")
        double alpha;

        @Option(
                names = "--targets",
                split = ",",
                description = "projections (default: all of q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)")
        List<String> targets;

        @Option(names = "--dtype", description = "bf16, f16 or f32 (default: ${DEFAULT-VALUE})")
        String dtype = "bf16";

        @Option(names = "--seed", description = "random seed (default: ${DEFAULT-VALUE})")
        long seed = 1;

        @Option(
                names = {"-o", "--output"},
                required = true,
                description = "adapter directory to write")
        Path output;

        @Override
        public Integer call() throws Exception {
            List<Projection> projections = new ArrayList<>();
            if (targets == null || targets.isEmpty()) {
                projections.addAll(List.of(Projection.values()));
            } else {
                for (String t : targets) {
                    Projection p = Projection.ofPeft(t.trim());
                    if (p == null) {
                        throw new IllegalArgumentException("--targets '" + t + "' is not a projection; expected among "
                                + "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
                    }
                    projections.add(p);
                }
            }
            double a = alpha > 0 ? alpha : 2.0 * rank;
            long bytes = RandomModel.writeAdapter(
                    base, rank, a, projections, seed, DType.ofTorch(dtype.toLowerCase(Locale.ROOT)), output);
            spec.commandLine()
                    .getOut()
                    .printf(
                            "wrote %s: rank %d, alpha %s, targets %s, %.2f MiB%n",
                            output,
                            rank,
                            a,
                            projections.stream().map(Projection::peftName).toList(),
                            bytes / 1048576.0);
            return 0;
        }
    }
}
