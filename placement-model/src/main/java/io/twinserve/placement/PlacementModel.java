package io.twinserve.placement;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.twinserve.traces.Provenance;
import io.twinserve.traces.spec.SloSpec;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.tribuo.Model;
import org.tribuo.Output;
import org.tribuo.common.tree.TreeModel;
import org.tribuo.ensemble.EnsembleModel;

/**
 * A trained model folder: one Tribuo-serialized tree per target ({@code TARGET.tribuo}) and
 * {@code model.json} ({@link Meta}: the dataset's provenance, training settings, feature ranges and
 * held-out scores).
 *
 * <p>Over 400 lines because reading and writing a model folder (trees, forests, meta, older layouts) are one
 * file format, and what it records decides which trees a lookup reads (a model's main grid or its other GPUs,
 * {@link #treeModel}).
 */
public final class PlacementModel {
    public static final String META = "model.json";
    public static final int FORMAT = 1;
    /** Between a target and the model it was fitted for: {@code served@llama-3.1-8b}. */
    public static final String MODEL_SEP = "@";

    /**
     * What follows a model's name in the targets of its other GPUs ({@code served@llama-3.1-8b+other-gpus}): the pools
     * outside the model's main grid (its first dataset's), fitted apart ({@link Trainer#train(List, java.util.Set)}).
     */
    public static final String OTHER_GPUS = "+other-gpus";

    /** The shipped default model's resource folder. */
    public static final String DEFAULT_RESOURCE = "default-model/";

    /**
     * @param targets per target: its feature set, feature names in vector order, kind and snapping grid
     * @param ranges per numeric feature: [min, max] over the training examples
     * @param categories per categorical (model, pool): the values seen in training
     */
    public record Meta(
            int format,
            Provenance run,
            Map<String, Object> dataset,
            Map<String, Object> training,
            Map<String, TargetMeta> targets,
            Map<String, double[]> ranges,
            Map<String, List<String>> categories,
            Map<String, Trainer.Report> reports,
            Map<String, Integer> slotCapacity) {

        /**
         * Reads a model.json, this shape or the one written before the shared record existed (with
         * {@code twinserve_version} and {@code commit} at the top level; the JVM, OS and time were not
         * recorded then), as the shipped model's is.
         */
        @JsonCreator
        static Meta read(
                @JsonProperty("format") int format,
                @JsonProperty("run") Provenance run,
                @JsonProperty("twinserve_version") String version,
                @JsonProperty("commit") String commit,
                @JsonProperty("dataset") Map<String, Object> dataset,
                @JsonProperty("training") Map<String, Object> training,
                @JsonProperty("targets") Map<String, TargetMeta> targets,
                @JsonProperty("ranges") Map<String, double[]> ranges,
                @JsonProperty("categories") Map<String, List<String>> categories,
                @JsonProperty("reports") Map<String, Trainer.Report> reports,
                @JsonProperty("slot_capacity") Map<String, Integer> slotCapacity) {
            Provenance r = run != null ? run : new Provenance(null, null, version, commit, null, null, null);
            return new Meta(format, r, dataset, training, targets, ranges, categories, reports, slotCapacity);
        }
    }

    /**
     * How a target's tree is read.
     *
     * @param gpuShare the tree answers the share of a GPU (a count times {@code adapter_load}): the planner divides
     *     it by the workload's adapter load (false in models trained before it)
     */
    public record TargetMeta(
            String features,
            List<String> featureNames,
            boolean classification,
            boolean ratioToOffered,
            boolean gpuShare,
            double[] snap) {}

    /** A target ready to predict. */
    /**
     * A loaded target.
     *
     * @param numericAt where each of {@link Features#numericNames()} sits in the tree's vector, -1 where the
     *     model was trained without it (a model from before the feature existed reads the rest by name)
     * @param modelAt the vector position of each model's one-hot feature ({@code model=NAME}), by model name
     * @param poolAt the same for the pools ({@code pool=NAME}), empty for targets without the placement features
     */
    public record Target(
            String name,
            Features features,
            CompiledTree tree,
            Map<String, Integer> index,
            TargetMeta meta,
            Model<?> tribuo,
            int[] numericAt,
            Map<String, Integer> modelAt,
            Map<String, Integer> poolAt) {}

    /** The positions of the one-hot features {@code PREFIX=NAME} in a tree's vector, by NAME. */
    private static Map<String, Integer> oneHot(Map<String, Integer> index, String prefix) {
        Map<String, Integer> out = new java.util.HashMap<>();
        index.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    private final Meta meta;
    private final Map<String, Target> targets;
    private final String source;

    private final Map<CapacityKey, Integer> capacities;
    /** The datasets' specs, the main grid's first ({@link #specs()}). */
    private final List<SweepSpec> specs;
    /** The pools of the first dataset's spec (empty when the model records no spec): its main grid. */
    private final java.util.Set<String> mainPools;
    /** The models with trees of their own for their other GPUs ({@link #OTHER_GPUS}). */
    private final Map<String, String> otherGpuModels = new java.util.HashMap<>();
    /** The tp values each model started at on each pool in training (from the slot capacities). */
    private final Map<String, Map<String, java.util.SortedSet<Integer>>> trainedTps = new java.util.HashMap<>();

    private final LoadModel load;

    private PlacementModel(Meta meta, Map<String, Target> targets, String source) {
        this.meta = meta;
        this.targets = targets;
        this.source = source;
        this.load = LoadModel.of(meta.training().get("load_model"));
        this.capacities = capacities(meta.slotCapacity());
        this.specs = specs(meta, source);
        this.mainPools = new java.util.LinkedHashSet<>();
        if (!specs.isEmpty()) {
            for (SweepSpec.PoolEntry p : specs.getFirst().pools()) {
                mainPools.add(p.name());
            }
        }
        for (CapacityKey k : capacities.keySet()) {
            trainedTps
                    .computeIfAbsent(k.model(), m -> new java.util.HashMap<>())
                    .computeIfAbsent(k.pool(), p -> new java.util.TreeSet<>())
                    .add(k.tp());
        }
        for (String name : targets.keySet()) {
            if (name.endsWith(OTHER_GPUS) && name.indexOf(MODEL_SEP) >= 0) {
                String m = name.substring(name.indexOf(MODEL_SEP) + 1, name.length() - OTHER_GPUS.length());
                otherGpuModels.put(m, m + OTHER_GPUS);
            }
            int at = name.indexOf(MODEL_SEP);
            if (at >= 0) {
                ownTargets
                        .computeIfAbsent(name.substring(at + MODEL_SEP.length()), m -> new java.util.HashMap<>())
                        .put(name.substring(0, at), targets.get(name));
            }
        }
    }

    /**
     * The per-model targets by model name, then target name ({@code NAME@MODEL} split once): the planner asks for a
     * target several times a plan, and building the key each time was a tenth of a plan's time.
     */
    private final Map<String, Map<String, Target>> ownTargets = new java.util.HashMap<>();

    public Meta meta() {
        return meta;
    }

    public String source() {
        return source;
    }

    /** A target fitted for every model ({@code null} when the model holds per-model trees only). */
    public Target target(String name) {
        return targets.get(name);
    }

    /** The target's tree for a model: its own ({@code NAME@MODEL}) when the model was fitted apart, else the shared one. */
    public Target target(String name, String modelName) {
        Map<String, Target> own = ownTargets.get(modelName);
        Target t = own == null ? null : own.get(name);
        return t != null ? t : targets.get(name);
    }

    /**
     * The target's tree for a workload's model on its pool: the model's other GPUs' ({@link #OTHER_GPUS}) when the
     * pool is outside the main grid's and they were fitted apart, else {@link #target(String, String)}.
     */
    public Target target(String name, WorkloadFeatures w) {
        return target(name, treeModel(w.model(), w.pool()));
    }

    /** Whether the target exists for a workload's model on its pool. */
    public boolean has(String name, WorkloadFeatures w) {
        return has(name, treeModel(w.model(), w.pool()));
    }

    /** The held-out report of a target for a model (its own when fitted apart). */
    public Trainer.Report report(String name, String modelName) {
        Trainer.Report own = meta.reports().get(name + MODEL_SEP + modelName);
        return own != null ? own : meta.reports().get(name);
    }

    /** The held-out report of a target for a model on a pool (its other GPUs' when fitted apart). */
    public Trainer.Report report(String name, String modelName, String pool) {
        return report(name, treeModel(modelName, pool));
    }

    /** The name a model's trees go by on {@code pool}: the model's, or its other GPUs' ({@link #OTHER_GPUS}). */
    String treeModel(String modelName, String pool) {
        // (on the planner's hot path: no string is built)
        return mainPools.isEmpty() || mainPools.contains(pool)
                ? modelName
                : otherGpuModels.getOrDefault(modelName, modelName);
    }

    /** Whether some model has trees of its own for its other GPUs ({@link #OTHER_GPUS}). */
    public boolean hasOtherGpus() {
        return !otherGpuModels.isEmpty();
    }

    /** The SLO the model's labels meet (recorded at training). */
    public SloSpec slo() {
        return Dataset.JSON.convertValue(meta.training().get("slo"), SloSpec.class);
    }

    static String capacityKey(String model, String pool, int tp, int kvCacheLen, int maxRank) {
        return model + "|" + pool + "|" + tp + "|" + kvCacheLen + "|" + maxRank;
    }

    /**
     * The specs of the datasets the model was trained on, in order, the main grid's first ({@code spec_yaml}, then each
     * other part's); empty when the model records none.
     */
    private static List<SweepSpec> specs(Meta meta, String source) {
        Object yaml = meta.dataset() == null ? null : meta.dataset().get("spec_yaml");
        if (yaml == null) {
            return List.of();
        }
        List<SweepSpec> out = new ArrayList<>();
        out.add(Sweeps.parse(yaml.toString(), Path.of(source, "model.json#spec_yaml")));
        if (meta.dataset().get("parts") instanceof List<?> parts) {
            for (int i = 1; i < parts.size(); i++) {
                if (parts.get(i) instanceof Map<?, ?> part && part.get("spec_yaml") != null) {
                    out.add(Sweeps.parse(
                            part.get("spec_yaml").toString(),
                            Path.of(source, "model.json#parts[" + i + "].spec_yaml")));
                }
            }
        }
        return List.copyOf(out);
    }

    /** The specs of the datasets the model was trained on, the main grid's first (empty when it records none). */
    public List<SweepSpec> specs() {
        return specs;
    }

    /** The slot capacities of {@code model.json}, keyed without building a string per lookup (the planner's hot path). */
    private record CapacityKey(String model, String pool, int tp, int kvCacheLen, int maxRank) {}

    private static Map<CapacityKey, Integer> capacities(Map<String, Integer> slotCapacity) {
        Map<CapacityKey, Integer> m = new HashMap<>();
        if (slotCapacity != null) {
            slotCapacity.forEach((k, v) -> {
                String[] p = k.split("\\|");
                m.put(
                        new CapacityKey(
                                p[0], p[1], Integer.parseInt(p[2]), Integer.parseInt(p[3]), Integer.parseInt(p[4])),
                        v);
            });
        }
        return Map.copyOf(m);
    }

    /**
     * The most slots a configuration of these settings started with in training (larger ones did not fit
     * in memory, or were not swept); {@link Integer#MAX_VALUE} when the model does not know.
     */
    public int slotCapacity(WorkloadFeatures w) {
        if (meta.slotCapacity() == null) {
            return Integer.MAX_VALUE;
        }
        int maxRank = Math.max(w.ranks()[0], Math.max(w.ranks()[1], w.ranks()[2]));
        Integer c = capacities.get(new CapacityKey(w.model(), w.pool(), w.tp(), w.kvCacheLen(), maxRank));
        return c == null ? Integer.MAX_VALUE : c;
    }

    /**
     * The tp values {@code modelName} started at on {@code pool} in training, from the slot capacities (empty when the
     * model records none).
     */
    public java.util.SortedSet<Integer> trainedTp(String modelName, String pool) {
        return trainedTps.getOrDefault(modelName, Map.of()).getOrDefault(pool, java.util.Collections.emptySortedSet());
    }

    public boolean has(String name) {
        return targets.containsKey(name);
    }

    public boolean has(String name, String modelName) {
        Map<String, Target> own = ownTargets.get(modelName);
        return (own != null && own.containsKey(name)) || targets.containsKey(name);
    }

    /** Writes fitted targets and their metadata into a folder. */
    public static void write(
            Path dir,
            List<Trainer.Fitted> fitted,
            List<Dataset.Provenance> datasets,
            Map<String, Object> training,
            String version,
            String commit,
            List<SweepRow> rows)
            throws IOException {
        Dataset.Provenance dataset = datasets.getFirst();
        Files.createDirectories(dir);
        Map<String, TargetMeta> targets = new LinkedHashMap<>();
        Map<String, double[]> ranges = new LinkedHashMap<>();
        for (Trainer.Fitted f : fitted) {
            // gzip-compressed (a forest's protobuf shrinks about 8x: the shipped model went from 14.6 to under 2 MB,
            // which
            // matters where the working tree travels to a GPU machine within 64 MiB); models written before load too
            try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(dir.resolve(f.target() + ".tribuo")))) {
                f.model().serializeToStream(out);
            }
            targets.put(
                    f.target(),
                    new TargetMeta(
                            f.features().name(),
                            f.featureNames(),
                            f.classification(),
                            f.ratioToOffered(),
                            f.gpuShare(),
                            f.snap()));
        }
        // ranges of every numeric feature over the rows that started
        LoadModel rangesLoad = LoadModel.of(training.get("load_model"));
        for (SweepRow r : rows) {
            if (!r.fits()) {
                continue;
            }
            WorkloadFeatures w = WorkloadFeatures.of(r);
            List<String> names = Features.CONFIGURED.numericNames();
            double[] v = Features.CONFIGURED.numeric(w, rangesLoad);
            for (int i = 0; i < names.size(); i++) {
                double[] mm = ranges.computeIfAbsent(
                        names.get(i), k -> new double[] {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY});
                mm[0] = Math.min(mm[0], v[i]);
                mm[1] = Math.max(mm[1], v[i]);
            }
        }
        // the most slots that started, per model, pool, tp, KV setting and largest rank: the trees learn only from
        // configurations that start, so the planner keeps its slot counts within what the memory check allowed
        Map<String, Integer> capacity = new TreeMap<>();
        for (SweepRow r : rows) {
            if (r.fits()) {
                capacity.merge(
                        capacityKey(
                                r.model(),
                                r.pool(),
                                r.tp(),
                                r.kvCacheLen(),
                                Math.max(r.rank1(), Math.max(r.rank2(), r.rank3()))),
                        r.slots(),
                        Math::max);
            }
        }
        Map<String, List<String>> categories = new LinkedHashMap<>();
        categories.put(
                "model", rows.stream().map(SweepRow::model).distinct().sorted().toList());
        categories.put(
                "pool", rows.stream().map(SweepRow::pool).distinct().sorted().toList());
        Map<String, Object> ds = new LinkedHashMap<>();
        ds.put("spec_name", dataset.specName());
        ds.put("spec_sha256", dataset.specSha256());
        ds.put("spec_yaml", dataset.specYaml());
        ds.put("twinserve_version", dataset.twinserveVersion());
        ds.put("commit", dataset.commit());
        ds.put("seed", dataset.seed());
        ds.put("calibrations", dataset.calibrations());
        ds.put("rows", rows.size());
        ds.put(
                "simulations",
                datasets.stream().mapToLong(Dataset.Provenance::simulations).sum());
        if (datasets.size() > 1) {
            List<Map<String, Object>> parts = new ArrayList<>();
            for (Dataset.Provenance p : datasets) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("spec_name", p.specName());
                m.put("spec_sha256", p.specSha256());
                // the planner takes every part's pools (a grid of other GPUs trained beside the main one)
                m.put("spec_yaml", p.specYaml());
                m.put("commit", p.commit());
                m.put("scenarios", p.scenarios());
                m.put("simulations", p.simulations());
                parts.add(m);
            }
            ds.put("parts", parts);
        }
        Provenance now = Provenance.of(null, null);
        Provenance run = new Provenance(null, null, version, commit, now.jvm(), now.os(), now.time());
        Meta meta = new Meta(FORMAT, run, ds, training, targets, ranges, categories, Trainer.reports(fitted), capacity);
        Dataset.JSON.writeValue(dir.resolve(META).toFile(), meta);
    }

    /** Loads a model folder; a missing, corrupt or mismatched file is named in the error. */
    /** The share of one GPU an adapter of {@code w} takes, by the model's load estimate (0 without one). */
    public double adapterLoad(WorkloadFeatures w) {
        return load.adapterLoad(w);
    }

    public static PlacementModel load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "no such model folder (a 'twinserve train' output)");
        }
        return load(
                name -> {
                    Path p = dir.resolve(name);
                    if (!Files.isRegularFile(p)) {
                        throw new NoSuchFileException(p.toString(), null, "missing from the model folder");
                    }
                    return Files.newInputStream(p);
                },
                dir.toString());
    }

    /** The shipped default model. */
    public static PlacementModel builtIn() throws IOException {
        return load(
                name -> {
                    InputStream in = PlacementModel.class.getResourceAsStream(DEFAULT_RESOURCE + name);
                    if (in == null) {
                        throw new NoSuchFileException("default model resource " + name);
                    }
                    return in;
                },
                "the built-in model");
    }

    interface Opener {
        InputStream open(String name) throws IOException;
    }

    /** {@code in}, decompressed when it starts with gzip's magic (models are written compressed since 2026-12-06). */
    static InputStream gunzipped(InputStream in) throws IOException {
        BufferedInputStream b = new BufferedInputStream(in);
        b.mark(2);
        int first = b.read();
        int second = b.read();
        b.reset();
        return first == 0x1f && second == 0x8b ? new GZIPInputStream(b) : b;
    }

    private static PlacementModel load(Opener opener, String source) throws IOException {
        Meta meta;
        try (InputStream in = opener.open(META)) {
            meta = Dataset.JSON.readValue(in, Meta.class);
        } catch (JsonProcessingException e) {
            throw new IOException(
                    source + "/" + META + ": is not a placement model description (line "
                            + (e.getLocation() == null ? "?" : e.getLocation().getLineNr()) + "): "
                            + e.getOriginalMessage(),
                    e);
        }
        if (meta.format() != FORMAT) {
            throw new IOException(source + "/" + META + ": format " + meta.format()
                    + ", but this twinserve reads format " + FORMAT + "; retrain with 'twinserve train'");
        }
        Map<String, Target> targets = new HashMap<>();
        for (Map.Entry<String, TargetMeta> e : meta.targets().entrySet()) {
            String file = e.getKey() + ".tribuo";
            Model<?> m;
            try (InputStream in = gunzipped(opener.open(file))) {
                m = Model.deserializeFromStream(in);
            } catch (IOException | RuntimeException ex) {
                if (ex instanceof NoSuchFileException nsf) {
                    throw nsf;
                }
                throw new IOException(
                        source + "/" + file + ": is not a readable Tribuo model (corrupt or truncated?): " + ex, ex);
            }
            if (!(m instanceof TreeModel<?> || m instanceof EnsembleModel<?>)) {
                throw new IOException(source + "/" + file + ": holds a "
                        + m.getClass().getSimpleName() + ", not a CART tree or an ensemble of them");
            }
            Model<?> tree = m;
            TargetMeta tm = e.getValue();
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < tm.featureNames().size(); i++) {
                index.put(tm.featureNames().get(i), i);
            }
            for (String f : splitFeatures(tree)) {
                if (!index.containsKey(f)) {
                    throw new IOException(source + "/" + file + ": splits on feature '" + f + "', which " + META
                            + " does not list for target " + e.getKey());
                }
            }
            CompiledTree compiled =
                    CompiledTree.of(tree, index, tm.featureNames().toArray(String[]::new));
            Features features = Features.valueOf(tm.features());
            List<String> numeric = features.numericNames();
            int[] numericAt = new int[numeric.size()];
            for (int i = 0; i < numericAt.length; i++) {
                numericAt[i] = index.getOrDefault(numeric.get(i), -1);
            }
            targets.put(
                    e.getKey(),
                    new Target(
                            e.getKey(),
                            features,
                            compiled,
                            index,
                            tm,
                            tree,
                            numericAt,
                            oneHot(index, "model="),
                            oneHot(index, "pool=")));
        }
        // a served target that answers a GPU share is read through the load estimate of its model: without one the
        // share could not be turned back into a count
        LoadModel load = LoadModel.of(meta.training().get("load_model"));
        for (Map.Entry<String, Target> e : targets.entrySet()) {
            if (!e.getValue().meta().gpuShare()) {
                continue;
            }
            int at = e.getKey().indexOf(MODEL_SEP);
            List<String> models = at >= 0
                    ? List.of(e.getKey().substring(at + MODEL_SEP.length()).replace(OTHER_GPUS, ""))
                    : meta.categories().getOrDefault("model", List.of());
            for (String m : models) {
                if (!load.perModel().containsKey(m)) {
                    throw new IOException(source + "/" + META + ": target " + e.getKey() + " answers a share of a GPU,"
                            + " but training.load_model has no estimate for " + m + "; retrain with twinserve train");
                }
            }
        }
        for (String required : List.of("served", "slots", "throughput", "slo")) {
            // (a model of another grid only may have its other GPUs' trees alone)
            boolean perModel =
                    !meta.categories().getOrDefault("model", List.of()).isEmpty()
                            && meta.categories().get("model").stream()
                                    .allMatch(m -> targets.containsKey(required + MODEL_SEP + m)
                                            || targets.containsKey(required + MODEL_SEP + m + OTHER_GPUS));
            if (!targets.containsKey(required) && !perModel) {
                throw new IOException(source + "/" + META + ": has no target '" + required + "'"
                        + (targets.containsKey("starving")
                                ? " (a model trained before labels were judged by an SLO; retrain it with twinserve train)"
                                : ""));
            }
        }
        if (!(meta.training().get("slo") instanceof Map<?, ?>)) {
            throw new IOException(
                    source + "/" + META + ": training.slo is missing: the model does not say which SLO its"
                            + " labels meet (retrain it with twinserve train)");
        }
        return new PlacementModel(meta, targets, source);
    }

    /** The features a tree splits on (every member's, for an ensemble). */
    private static Set<String> splitFeatures(Model<?> m) {
        Set<String> out = new TreeSet<>();
        if (m instanceof TreeModel<?> t) {
            out.addAll(t.getFeatures());
        } else if (m instanceof EnsembleModel<?> e) {
            for (Model<?> member : e.getModels()) {
                out.addAll(splitFeatures(member));
            }
        }
        return out;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static <T extends Output<T>> TreeModel<T> castTree(TreeModel<?> m) {
        return (TreeModel) m;
    }

    /** The vector a target's tree reads; an unknown category is an error naming the feature. */
    public double[] vector(Target t, WorkloadFeatures w) {
        double[] numeric = t.features().numeric(w, load);
        double[] v = new double[t.meta().featureNames().size()];
        int[] at = t.numericAt();
        for (int i = 0; i < at.length; i++) {
            if (at[i] >= 0) {
                v[at[i]] = numeric[i];
            }
        }
        // the one-hot features (the model's, and the pool's for targets that place): by name, without building the
        // "model=NAME" keys of Features.categorical on every call; an unknown name takes the path below, which
        // says what the target knows
        Integer modelAt = t.modelAt().get(w.model());
        Integer poolAt = t.features().placement() ? t.poolAt().get(w.pool()) : Integer.valueOf(-1);
        if (modelAt != null && poolAt != null) {
            v[modelAt] = 1;
            if (poolAt >= 0) {
                v[poolAt] = 1;
            }
            return v;
        }
        for (String c : t.features().categorical(w)) {
            Integer i = t.index().get(c);
            if (i == null) {
                String key = c.substring(0, c.indexOf('='));
                // the tree's own values: a model of several grids has trees that saw some pools only
                List<String> known = t.index().keySet().stream()
                        .filter(k -> k.startsWith(key + "="))
                        .map(k -> k.substring(key.length() + 1))
                        .sorted()
                        .toList();
                throw new IllegalArgumentException(key + " '" + c.substring(c.indexOf('=') + 1)
                        + "' is not among the " + key + "s target " + t.name() + " was trained on: "
                        + String.join(", ", known) + " (" + source + ")");
            }
            v[i] = 1;
        }
        return v;
    }

    /** Warnings for numeric features outside the training range, naming each. */
    public List<String> outOfRange(WorkloadFeatures w) {
        List<String> out = new ArrayList<>();
        List<String> names = Features.CONFIGURED.numericNames();
        double[] v = Features.CONFIGURED.numeric(w, load);
        for (int i = 0; i < names.size(); i++) {
            double[] mm = meta.ranges().get(names.get(i));
            if (mm != null && mm[0] == mm[1] && v[i] != mm[0]) {
                // a feature the training grid held constant: no tree splits on it, so the plan is the one for that
                // value
                out.add(String.format(
                        Locale.ROOT,
                        "%s = %s, but the model was trained on %s only (%s): it plans as"
                                + " for %s; verifying the plan runs the workload itself in the twin",
                        names.get(i),
                        Features.num(v[i]),
                        Features.num(mm[0]),
                        Features.describe(names.get(i)),
                        Features.num(mm[0])));
            } else if (mm != null && (v[i] < mm[0] - 1e-9 * Math.abs(mm[0]) || v[i] > mm[1] + 1e-9 * Math.abs(mm[1]))) {
                out.add(String.format(
                        Locale.ROOT,
                        "%s = %s is outside the training range [%s, %s] (%s): the" + " prediction extrapolates",
                        names.get(i),
                        Features.num(v[i]),
                        Features.num(mm[0]),
                        Features.num(mm[1]),
                        Features.describe(names.get(i))));
            }
        }
        return out;
    }
}
