package io.twinserve.placement;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

/**
 * A sweep's output: a folder with {@code rows.csv} (one {@link SweepRow} per scenario, in scenario
 * order) and {@code provenance.json} ({@link Provenance}: what produced it).
 */
public record Dataset(Provenance provenance, List<SweepRow> rows) {
    public static final String ROWS = "rows.csv";
    public static final String PROVENANCE = "provenance.json";

    static final CsvMapper CSV = (CsvMapper) new CsvMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    static final CsvSchema SCHEMA = CSV.schemaFor(SweepRow.class).withHeader();
    public static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    /**
     * What produced a dataset: the run's {@link io.twinserve.traces.Provenance} (the spec's hash and seed,
     * version, commit, JVM, OS, time), and the sweep's own facts.
     *
     * @param run what ran it; its spec hash is of {@code specYaml} (shards of one sweep share it)
     * @param specYaml the sweep spec as run (the built-in one's text when none was given)
     * @param shards the shards this dataset holds, "K/N" each ("0/1" for an unsharded sweep)
     * @param scenarios rows in this dataset; {@code simulations} of them started (the rest did not fit)
     * @param elapsedS wall-clock seconds the sweep took (summed over shards after a merge)
     * @param skipped scenarios of the shards left out by the spec's {@code stop_after_miss} (not in the rows)
     */
    public record Provenance(
            io.twinserve.traces.Provenance run,
            String specName,
            String specYaml,
            List<String> calibrations,
            boolean stopWhenStarving,
            List<String> shards,
            long gridScenarios,
            long scenarios,
            long simulations,
            long stoppedEarly,
            double elapsedS,
            int threads,
            long skipped) {

        /**
         * Reads a provenance.json, this shape or the one written before the shared record existed (with
         * {@code twinserve_version}, {@code commit}, {@code spec_sha256} and {@code seed} at the top level;
         * the JVM, OS and time were not recorded then).
         */
        @JsonCreator
        static Provenance read(
                @JsonProperty("run") io.twinserve.traces.Provenance run,
                @JsonProperty("twinserve_version") String version,
                @JsonProperty("commit") String commit,
                @JsonProperty("spec_sha256") String specSha256,
                @JsonProperty("seed") Long seed,
                @JsonProperty("spec_name") String specName,
                @JsonProperty("spec_yaml") String specYaml,
                @JsonProperty("calibrations") List<String> calibrations,
                @JsonProperty("stop_when_starving") boolean stopWhenStarving,
                @JsonProperty("shards") List<String> shards,
                @JsonProperty("grid_scenarios") long gridScenarios,
                @JsonProperty("scenarios") long scenarios,
                @JsonProperty("simulations") long simulations,
                @JsonProperty("stopped_early") long stoppedEarly,
                @JsonProperty("elapsed_s") double elapsedS,
                @JsonProperty("threads") int threads,
                @JsonProperty("skipped") long skipped) {
            io.twinserve.traces.Provenance r = run != null
                    ? run
                    : new io.twinserve.traces.Provenance(specSha256, seed, version, commit, null, null, null);
            return new Provenance(
                    r,
                    specName,
                    specYaml,
                    calibrations,
                    stopWhenStarving,
                    shards,
                    gridScenarios,
                    scenarios,
                    simulations,
                    stoppedEarly,
                    elapsedS,
                    threads,
                    skipped);
        }

        /** The hash of {@code specYaml}. */
        public String specSha256() {
            return run.specSha256();
        }

        /** The sweep's seed. */
        public long seed() {
            return run.seed() == null ? 0 : run.seed();
        }

        /** The twinserve version that ran the sweep. */
        public String twinserveVersion() {
            return run.version();
        }

        /** The commit that ran the sweep. */
        public String commit() {
            return run.commit();
        }
    }

    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        try (Writer w = Files.newBufferedWriter(dir.resolve(ROWS), StandardCharsets.UTF_8)) {
            CSV.writer(SCHEMA).writeValues(w).writeAll(rows).close();
        }
        JSON.writeValue(dir.resolve(PROVENANCE).toFile(), provenance);
    }

    /** Reads a dataset folder; errors name the file and line. */
    public static Dataset read(Path dir) throws IOException {
        Path rowsFile = dir.resolve(ROWS);
        Path provFile = dir.resolve(PROVENANCE);
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "no such dataset folder (a sweep's -o output)");
        }
        for (Path p : List.of(rowsFile, provFile)) {
            if (!Files.isRegularFile(p)) {
                throw new NoSuchFileException(p.toString(), null, "missing from the dataset folder");
            }
        }
        Provenance prov;
        try {
            prov = JSON.readValue(provFile.toFile(), Provenance.class);
        } catch (JsonProcessingException e) {
            throw new DatasetException(
                    provFile,
                    e.getLocation() == null ? 0 : e.getLocation().getLineNr(),
                    "is not a dataset provenance file: " + e.getOriginalMessage());
        }
        List<SweepRow> rows = new ArrayList<>();
        String header = Files.newBufferedReader(rowsFile).readLine();
        String expected = String.join(",", SCHEMA.getColumnNames());
        if (header == null || !header.equals(expected)) {
            throw new DatasetException(rowsFile, 1, "has the header '" + header + "'; expected '" + expected + "'");
        }
        ObjectReader reader = CSV.readerFor(SweepRow.class).with(SCHEMA);
        try (MappingIterator<SweepRow> it = reader.readValues(rowsFile.toFile())) {
            while (it.hasNextValue()) {
                try {
                    rows.add(it.nextValue());
                } catch (RuntimeException | IOException e) {
                    int line = it.getCurrentLocation() == null
                            ? 0
                            : it.getCurrentLocation().getLineNr();
                    String msg = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
                    throw new DatasetException(rowsFile, line, "is not a valid row: " + msg);
                }
            }
        } catch (JsonProcessingException e) {
            throw new DatasetException(
                    rowsFile,
                    e.getLocation() == null ? 0 : e.getLocation().getLineNr(),
                    "is not a valid row: " + e.getOriginalMessage());
        }
        if (rows.size() != prov.scenarios()) {
            throw new DatasetException(
                    rowsFile,
                    0,
                    "has " + rows.size() + " rows but " + PROVENANCE + " says " + prov.scenarios()
                            + " (truncated or edited?)");
        }
        return new Dataset(prov, rows);
    }

    /**
     * Joins shards of one sweep: they must share the spec (its hash), hold distinct shards of the same
     * count, and together hold every shard. Rows come out in scenario order.
     */
    public static Dataset merge(List<Path> dirs) throws IOException {
        if (dirs.isEmpty()) {
            throw new IllegalArgumentException("nothing to merge: give the shard folders");
        }
        List<Dataset> parts = new ArrayList<>();
        for (Path d : dirs) {
            parts.add(read(d));
        }
        Provenance first = parts.getFirst().provenance();
        TreeSet<String> shards = new TreeSet<>(Comparator.comparingInt(s -> Integer.parseInt(s.split("/")[0])));
        int count = -1;
        List<SweepRow> rows = new ArrayList<>();
        long sims = 0;
        long stopped = 0;
        long skipped = 0;
        double elapsed = 0;
        for (int i = 0; i < parts.size(); i++) {
            Provenance p = parts.get(i).provenance();
            if (!p.specSha256().equals(first.specSha256())) {
                throw new IllegalArgumentException(dirs.get(i) + " comes from another sweep spec (" + p.specName()
                        + ", sha256 "
                        + p.specSha256().substring(0, 12) + ") than " + dirs.getFirst() + " (" + first.specName() + ", "
                        + first.specSha256().substring(0, 12) + ")");
            }
            for (String s : p.shards()) {
                int n = Integer.parseInt(s.split("/")[1]);
                if (count >= 0 && n != count) {
                    throw new IllegalArgumentException(dirs.get(i) + " holds shard " + s + " of a " + n
                            + "-way split; others are " + count + "-way");
                }
                count = n;
                if (!shards.add(s)) {
                    throw new IllegalArgumentException(dirs.get(i) + " holds shard " + s + " a second time");
                }
            }
            rows.addAll(parts.get(i).rows());
            sims += p.simulations();
            stopped += p.stoppedEarly();
            skipped += p.skipped();
            elapsed += p.elapsedS();
        }
        if (shards.size() != count) {
            List<String> missing = new ArrayList<>();
            for (int k = 0; k < count; k++) {
                if (!shards.contains(k + "/" + count)) {
                    missing.add(k + "/" + count);
                }
            }
            throw new IllegalArgumentException("shards missing: " + String.join(", ", missing) + " (of " + count + ")");
        }
        rows.sort(Comparator.comparingLong(SweepRow::scenario));
        Provenance merged = new Provenance(
                first.run(),
                first.specName(),
                first.specYaml(),
                first.calibrations(),
                first.stopWhenStarving(),
                List.copyOf(shards),
                first.gridScenarios(),
                rows.size(),
                sims,
                stopped,
                Math.round(elapsed * 10) / 10.0,
                first.threads(),
                skipped);
        return new Dataset(merged, List.copyOf(rows));
    }

    /** A dataset file that cannot be used, with the file and line. */
    public static final class DatasetException extends IOException {
        private static final long serialVersionUID = 1L;

        public DatasetException(Path file, int line, String problem) {
            super(file + (line > 0 ? ":" + line : "") + ": " + problem);
        }
    }
}
