package io.twinserve.api.server.registry;

import static io.twinserve.api.db.generated.Tables.ADAPTERS;
import static io.twinserve.api.db.generated.Tables.COMPUTE_POOLS;
import static io.twinserve.api.db.generated.Tables.DEPLOYMENTS;
import static io.twinserve.api.db.generated.Tables.MODELS;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.api.db.generated.tables.records.AdaptersRecord;
import io.twinserve.api.db.generated.tables.records.ComputePoolsRecord;
import io.twinserve.api.db.generated.tables.records.DeploymentsRecord;
import io.twinserve.api.db.generated.tables.records.ModelsRecord;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.inference.FaultSpec;
import io.twinserve.api.server.inference.RestartSpec;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.experiments.shadow.ShadowSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.profile.Profiles;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jooq.DSLContext;
import org.jooq.exception.IntegrityConstraintViolationException;

/**
 * The registry in PostgreSQL: compute pools, models, adapters and deployments, shaped like Adaptive
 * Engine's compute config. Validation happens here, with the field's name in every error.
 *
 * <p>Over 400 lines because the four registry resources share one validation vocabulary and one transaction
 * style; placement and the compute config's keys already live apart.
 */
@Singleton
public final class RegistryService {
    /** The pseudo-GPU of pools whose deployments run on this server's CPU engine. */
    public static final String CPU_GPU = "cpu";

    private final DSLContext db;
    private final Profiles profiles = Profiles.builtIn();

    public RegistryService(DSLContext db) {
        this.db = db;
    }

    public Profiles profiles() {
        return profiles;
    }

    // ---- compute pools

    public Map<String, Object> createPool(ObjectNode body) {
        Bodies.onlyKeys(body, "a compute pool", List.of("name", "gpu", "gpus", "description"));
        String name = name(body);
        String gpu = Bodies.requiredString(body, "gpu");
        if (!gpu.equals(CPU_GPU) && !profiles.gpus().containsKey(gpu)) {
            throw ApiException.badRequest(
                    "gpu",
                    "'gpu': unknown GPU profile '" + gpu + "'; expected one of "
                            + profiles.gpus().keySet() + " or 'cpu' (this server's CPU engine)");
        }
        Integer gpus = Bodies.optionalInt(body, "gpus", 1, 1_000_000);
        String description = Bodies.optionalString(body, "description");
        try {
            ComputePoolsRecord r = db.insertInto(COMPUTE_POOLS)
                    .set(COMPUTE_POOLS.NAME, name)
                    .set(COMPUTE_POOLS.GPU, gpu)
                    .set(COMPUTE_POOLS.GPUS, gpus == null ? 1 : gpus)
                    .set(COMPUTE_POOLS.DESCRIPTION, description)
                    .returning()
                    .fetchOne();
            return pool(r);
        } catch (IntegrityConstraintViolationException e) {
            throw ApiException.conflict("name", "a compute pool named '" + name + "' already exists");
        }
    }

    public List<Map<String, Object>> pools() {
        return db.selectFrom(COMPUTE_POOLS).orderBy(COMPUTE_POOLS.ID).fetch(RegistryService::pool);
    }

    public ComputePoolsRecord poolRecord(String name) {
        ComputePoolsRecord r =
                db.selectFrom(COMPUTE_POOLS).where(COMPUTE_POOLS.NAME.eq(name)).fetchOne();
        if (r == null) {
            throw ApiException.notFound("compute_pools", "no compute pool named '" + name + "'");
        }
        return r;
    }

    public void deletePool(String name) {
        poolRecord(name);
        for (DeploymentsRecord d : db.selectFrom(DEPLOYMENTS).fetch()) {
            if (placementPools(d).contains(name)) {
                throw ApiException.conflict(
                        "name",
                        "compute pool '" + name + "' is used by deployment '" + d.getName()
                                + "'; delete or move the deployment first");
            }
        }
        db.deleteFrom(COMPUTE_POOLS).where(COMPUTE_POOLS.NAME.eq(name)).execute();
    }

    static Map<String, Object> pool(ComputePoolsRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.getId());
        m.put("name", r.getName());
        m.put("gpu", r.getGpu());
        m.put("gpus", r.getGpus());
        m.put("description", r.getDescription());
        m.put("created_at", r.getCreatedAt().toString());
        return m;
    }

    // ---- models

    public Map<String, Object> createModel(ObjectNode body) {
        Bodies.onlyKeys(body, "a model", List.of("name", "profile", "path"));
        String name = name(body);
        String path = Bodies.optionalString(body, "path");
        String profile = Bodies.optionalString(body, "profile");
        if (path == null && profile == null) {
            throw ApiException.badRequest(
                    "path",
                    "a model needs 'path' (a Hugging Face model directory, for live"
                            + " deployments) or 'profile' (a model profile name such as "
                            + firstKeys(profiles.models().keySet())
                            + ", for simulated ones), or both");
        }
        if (path != null) {
            Path dir = Path.of(path);
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                throw ApiException.badRequest(
                        "path",
                        "'path': " + dir + " has no config.json; expected a model directory in"
                                + " Hugging Face layout");
            }
        }
        if (profile != null && !profiles.models().containsKey(profile)) {
            throw ApiException.badRequest(
                    "profile",
                    "'profile': unknown model profile '" + profile + "'; expected one of "
                            + profiles.models().keySet());
        }
        try {
            return model(db.insertInto(MODELS)
                    .set(MODELS.NAME, name)
                    .set(MODELS.PATH, path)
                    .set(MODELS.PROFILE, profile)
                    .returning()
                    .fetchOne());
        } catch (IntegrityConstraintViolationException e) {
            throw ApiException.conflict("name", "a model named '" + name + "' already exists");
        }
    }

    public List<Map<String, Object>> models() {
        return db.selectFrom(MODELS).orderBy(MODELS.ID).fetch(RegistryService::model);
    }

    public ModelsRecord modelRecord(String name) {
        ModelsRecord r = db.selectFrom(MODELS).where(MODELS.NAME.eq(name)).fetchOne();
        if (r == null) {
            throw ApiException.notFound("model", "no model named '" + name + "'");
        }
        return r;
    }

    public ModelsRecord modelRecord(long id) {
        return db.selectFrom(MODELS).where(MODELS.ID.eq(id)).fetchOne();
    }

    public void deleteModel(String name) {
        ModelsRecord m = modelRecord(name);
        var d = db.selectFrom(DEPLOYMENTS)
                .where(DEPLOYMENTS.MODEL_ID.eq(m.getId()))
                .fetchAny();
        if (d != null) {
            throw ApiException.conflict(
                    "name",
                    "model '" + name + "' is served by deployment '" + d.getName() + "'; delete the deployment first");
        }
        db.deleteFrom(MODELS).where(MODELS.ID.eq(m.getId())).execute();
    }

    static Map<String, Object> model(ModelsRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.getId());
        m.put("name", r.getName());
        m.put("path", r.getPath());
        m.put("profile", r.getProfile());
        m.put("created_at", r.getCreatedAt().toString());
        return m;
    }

    // ---- adapters

    public Map<String, Object> createAdapter(String modelName, ObjectNode body) {
        Bodies.onlyKeys(body, "an adapter", List.of("name", "path", "rank"));
        ModelsRecord m = modelRecord(modelName);
        String name = name(body);
        String path = Bodies.optionalString(body, "path");
        Integer rank = Bodies.optionalInt(body, "rank", 1, LoraAdapter.MAX_RANK);
        if (path == null && rank == null) {
            throw ApiException.badRequest(
                    "path",
                    "an adapter needs 'path' (a PEFT adapter directory) or 'rank' (1 to " + LoraAdapter.MAX_RANK
                            + ", a profile-only adapter for simulated deployments)");
        }
        if (path != null) {
            try {
                int fileRank = LoraAdapter.readRank(Path.of(path));
                if (rank != null && rank != fileRank) {
                    throw ApiException.badRequest(
                            "rank", "'rank' is " + rank + " but " + path + "/adapter_config.json says r = " + fileRank);
                }
                rank = fileRank;
            } catch (ApiException e) {
                throw e;
            } catch (RuntimeException e) {
                throw ApiException.badRequest("path", "'path': " + e.getMessage());
            }
        }
        try {
            return adapter(
                    db.insertInto(ADAPTERS)
                            .set(ADAPTERS.MODEL_ID, m.getId())
                            .set(ADAPTERS.NAME, name)
                            .set(ADAPTERS.PATH, path)
                            .set(ADAPTERS.RANK, rank)
                            .returning()
                            .fetchOne(),
                    modelName);
        } catch (IntegrityConstraintViolationException e) {
            throw ApiException.conflict(
                    "name", "model '" + modelName + "' already has an adapter named '" + name + "'");
        }
    }

    public List<Map<String, Object>> adapters(String modelName) {
        ModelsRecord m = modelRecord(modelName);
        return db.selectFrom(ADAPTERS)
                .where(ADAPTERS.MODEL_ID.eq(m.getId()))
                .orderBy(ADAPTERS.ID)
                .fetch(r -> adapter(r, modelName));
    }

    public List<AdaptersRecord> adapterRecords(long modelId) {
        return db.selectFrom(ADAPTERS)
                .where(ADAPTERS.MODEL_ID.eq(modelId))
                .orderBy(ADAPTERS.ID)
                .fetch();
    }

    public AdaptersRecord adapterRecord(long modelId, String name) {
        return db.selectFrom(ADAPTERS)
                .where(ADAPTERS.MODEL_ID.eq(modelId).and(ADAPTERS.NAME.eq(name)))
                .fetchOne();
    }

    public void deleteAdapter(String modelName, String name) {
        ModelsRecord m = modelRecord(modelName);
        if (db.deleteFrom(ADAPTERS)
                        .where(ADAPTERS.MODEL_ID.eq(m.getId()).and(ADAPTERS.NAME.eq(name)))
                        .execute()
                == 0) {
            throw ApiException.notFound("name", "model '" + modelName + "' has no adapter named '" + name + "'");
        }
    }

    static Map<String, Object> adapter(AdaptersRecord r, String model) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.getId());
        m.put("name", r.getName());
        m.put("model", model);
        m.put("path", r.getPath());
        m.put("rank", r.getRank());
        m.put("created_at", r.getCreatedAt().toString());
        return m;
    }

    // ---- deployments

    /** A deployment's fields as validated from a request body. */
    public record DeploymentDraft(
            String name,
            ModelsRecord model,
            String mode,
            ReplicaSpec computeConfig,
            ObjectNode computeConfigJson,
            Placement placement,
            double timeScale,
            boolean retainText) {}

    public DeploymentDraft draft(ObjectNode body) {
        Bodies.onlyKeys(
                body,
                "a deployment",
                List.of("name", "model", "mode", "time_scale", "retain_text", "compute_config", "placement"));
        // name() admits no ':', which separates deployment and adapter in the 'model' of inference calls
        String name = name(body);
        ModelsRecord model = modelRecord(Bodies.requiredString(body, "model"));
        String mode = Bodies.optionalString(body, "mode");
        mode = mode == null ? "simulated" : mode;
        if (!mode.equals("live") && !mode.equals("simulated")) {
            throw ApiException.badRequest("mode", "'mode' must be 'live' or 'simulated', got '" + mode + "'");
        }
        if (mode.equals("live") && model.getPath() == null) {
            throw ApiException.badRequest(
                    "mode",
                    "model '" + model.getName() + "' has no 'path', so it can only be" + " deployed in simulated mode");
        }
        if (mode.equals("simulated") && model.getProfile() == null && model.getPath() == null) {
            throw ApiException.badRequest("model", "model '" + model.getName() + "' has neither profile nor path");
        }
        JsonNode cc = body.get("compute_config");
        if (cc != null && !cc.isNull() && !cc.isObject()) {
            throw ApiException.badRequest("compute_config", "'compute_config' must be an object, got " + cc);
        }
        ObjectNode ccJson = cc == null || cc.isNull() ? Bodies.JSON.createObjectNode() : (ObjectNode) cc;
        ReplicaSpec replica = replicaSpec(ccJson);
        ShadowSpec shadow = shadowOf(ccJson);
        if (shadow != null && shadow.profile() != null && !mode.equals("live")) {
            throw ApiException.badRequest(
                    "compute_config.shadow.profile",
                    "'compute_config.shadow.profile' applies to live deployments only: a simulated deployment's twin is"
                            + " its own");
        }
        if (shadow != null && shadow.profile() == null && mode.equals("live")) {
            throw ApiException.badRequest(
                    "compute_config.shadow.profile",
                    "'compute_config.shadow.profile' is required for a live deployment's shadow twin: the folder"
                            + " 'twinserve engine profile' wrote for this model on this backend, whose table prices the"
                            + " twin's steps");
        }
        FaultSpec fault = faultOf(ccJson);
        restartOf(ccJson);
        Placement placement = placement(body.get("placement"));
        if (fault.fails() && fault.failReplica() >= placement.minReplicas()) {
            throw ApiException.badRequest(
                    "compute_config.fault.fail_replica",
                    "'compute_config.fault.fail_replica' is " + fault.failReplica() + " but the deployment starts "
                            + placement.minReplicas() + " replica(s) (placement.min_replicas), numbered from 0");
        }
        Double timeScale = Bodies.optionalDouble(body, "time_scale", 1e-3, 1e9);
        if (timeScale != null && mode.equals("live") && timeScale != 1.0) {
            throw ApiException.badRequest("time_scale", "'time_scale' applies to simulated deployments only");
        }
        Boolean retain = Bodies.optionalBoolean(body, "retain_text");
        return new DeploymentDraft(
                name,
                model,
                mode,
                replica,
                ccJson,
                placement,
                timeScale == null ? 1.0 : timeScale,
                retain != null && retain);
    }

    /**
     * {@code compute_config.backend}: which engine a live replica runs on, {@code auto} (the default: the pool's,
     * the CPU engine on a pool with {@code gpu: cpu}, CUDA on a GPU pool), {@code cpu} or {@code cuda}.
     */
    public static String backendOf(ObjectNode ccJson) {
        JsonNode b = ccJson.get("backend");
        if (b == null || b.isNull()) {
            return "auto";
        }
        if (!b.isTextual() || !LIVE_BACKENDS.contains(b.asText())) {
            throw ApiException.badRequest(
                    "compute_config.backend",
                    "'compute_config.backend': expected auto, cpu or cuda (the engine a live replica runs on), got "
                            + b);
        }
        return b.asText();
    }

    private static final Set<String> LIVE_BACKENDS = Set.of("auto", "cpu", "cuda");

    /**
     * {@code compute_config.shadow}: the deployment's shadow twin (docs/serve.md, "Shadow mode"), or null when
     * off.
     */
    public static ShadowSpec shadowOf(ObjectNode ccJson) {
        try {
            return ShadowSpec.parse(ccJson.get("shadow"));
        } catch (IllegalArgumentException e) {
            String msg = e.getMessage();
            int colon = msg.indexOf(':');
            int space = msg.indexOf(' ');
            int end = colon < 0 ? space : space < 0 ? colon : Math.min(colon, space);
            throw ApiException.badRequest(end > 0 ? msg.substring(0, end) : "compute_config.shadow", msg);
        }
    }

    // in the order the errors list them
    private static final List<String> FAULT_KEYS =
            List.of("step_delay_ms", "fail_replica", "fail_after_steps", "repeat");

    private static final List<String> RESTART_KEYS = List.of("max_restarts", "backoff_s");

    /**
     * The object {@code compute_config.<key>}, or null when absent; refused, naming the key, when it is not an
     * object or holds a key not in {@code known} ({@code example} shows one that is right).
     */
    private static JsonNode block(ObjectNode ccJson, String key, List<String> known, String example) {
        JsonNode b = ccJson.get(key);
        if (b == null || b.isNull()) {
            return null;
        }
        String path = "compute_config." + key;
        if (!b.isObject()) {
            throw ApiException.badRequest(path, "'" + path + "' must be an object such as " + example + ", got " + b);
        }
        for (var it = b.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) {
                String expected = known.size() == 1
                        ? known.get(0)
                        : String.join(", ", known.subList(0, known.size() - 1)) + " or " + known.getLast();
                throw ApiException.badRequest(
                        path + "." + k, path + "." + k + " is not a known key; expected " + expected);
            }
        }
        return b;
    }

    /**
     * {@code compute_config.restart}: how a replica whose engine failed is restarted, {@code max_restarts} times at
     * most (default 3; 0 never), the first after {@code backoff_s} seconds (default 1), each later one after twice
     * the pause before. {@link RestartSpec#DEFAULT} when absent.
     */
    public static RestartSpec restartOf(ObjectNode ccJson) {
        JsonNode r = block(ccJson, "restart", RESTART_KEYS, "{\"max_restarts\": 3, \"backoff_s\": 1}");
        if (r == null) {
            return RestartSpec.DEFAULT;
        }
        int max = RestartSpec.DEFAULT.maxRestarts();
        JsonNode m = r.get("max_restarts");
        if (m != null && !m.isNull()) {
            if (!m.isIntegralNumber() || !m.canConvertToInt() || m.asInt() < 0 || m.asInt() > 1_000) {
                throw ApiException.badRequest(
                        "compute_config.restart.max_restarts",
                        "'compute_config.restart.max_restarts': expected a whole number from 0 (never restart) to"
                                + " 1000, got " + m);
            }
            max = m.asInt();
        }
        long backoffMs = RestartSpec.DEFAULT.backoffMs();
        JsonNode b = r.get("backoff_s");
        if (b != null && !b.isNull()) {
            double limit = RestartSpec.MAX_BACKOFF_MS / 1000.0;
            if (!b.isNumber() || !(b.asDouble() >= 0) || b.asDouble() > limit) {
                throw ApiException.badRequest(
                        "compute_config.restart.backoff_s",
                        "'compute_config.restart.backoff_s': expected seconds from 0 to " + (long) limit
                                + " (the pause before the first restart), got " + b);
            }
            backoffMs = Math.round(b.asDouble() * 1000);
        }
        return new RestartSpec(max, backoffMs);
    }

    /**
     * {@code compute_config.fault}: fault injection for drills. {@code step_delay_ms} pauses after every engine step
     * (the shadow twin's drift alarm, timeouts); {@code fail_after_steps} makes replica {@code fail_replica} (default
     * 0) fail on purpose after that many steps (failover). {@link FaultSpec#NONE} when absent.
     */
    public static FaultSpec faultOf(ObjectNode ccJson) {
        JsonNode f = block(
                ccJson,
                "fault",
                FAULT_KEYS,
                "{\"step_delay_ms\": 20} or {\"fail_replica\": 0, \"fail_after_steps\": 100}");
        if (f == null) {
            return FaultSpec.NONE;
        }
        long delay = faultNumber(f, "step_delay_ms", 60_000, "whole milliseconds");
        long replica = faultNumber(f, "fail_replica", 1_000, "a replica number");
        long after = faultNumber(f, "fail_after_steps", 1_000_000_000_000L, "a whole number of steps");
        if (f.hasNonNull("fail_replica") && after == 0) {
            throw ApiException.badRequest(
                    "compute_config.fault.fail_after_steps",
                    "'compute_config.fault.fail_replica' needs 'fail_after_steps' (>= 1): the steps the replica runs"
                            + " before it fails");
        }
        JsonNode repeat = f.get("repeat");
        if (repeat != null && !repeat.isNull() && after == 0) {
            throw ApiException.badRequest(
                    "compute_config.fault.repeat",
                    "'compute_config.fault.repeat' needs 'fail_after_steps' (>= 1): it says whether the replica that"
                            + " fails after that many steps fails again after each restart");
        }
        if (repeat != null && !repeat.isNull() && !repeat.isBoolean()) {
            throw ApiException.badRequest(
                    "compute_config.fault.repeat",
                    "'compute_config.fault.repeat': expected true (the replica fails again after each restart) or"
                            + " false (only its first run fails), got " + repeat);
        }
        return new FaultSpec(delay, (int) replica, after, repeat != null && repeat.asBoolean(false));
    }

    private static long faultNumber(JsonNode f, String key, long max, String what) {
        JsonNode d = f.get(key);
        if (d == null || d.isNull()) {
            return 0;
        }
        if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0 || d.asLong() > max) {
            throw ApiException.badRequest(
                    "compute_config.fault." + key,
                    "'compute_config.fault." + key + "': expected " + what + " from 0 to " + max + ", got " + d);
        }
        return d.asLong();
    }

    /**
     * The replica's configuration in the twin's terms ({@code backend}, the live engine's choice, {@code shadow},
     * {@code fault} and {@code restart} apart).
     */
    public static ReplicaSpec replicaSpec(ObjectNode ccJson) {
        backendOf(ccJson);
        ObjectNode twin = ccJson.deepCopy();
        twin.remove("backend");
        twin.remove("shadow");
        twin.remove("fault");
        twin.remove("restart");
        try {
            return WorkloadSpecs.parse(twin.isEmpty() ? "{}" : twin.toString(), null, ReplicaSpec.class);
        } catch (SpecException e) {
            String key =
                    e.keyPath() == null || e.keyPath().isEmpty() ? "compute_config" : "compute_config." + e.keyPath();
            throw ApiException.badRequest(key, "'" + key + "': " + e.problem());
        }
    }

    Placement placement(JsonNode p) {
        return Placement.parse(p, this::poolRecord);
    }

    public DeploymentsRecord insertDeployment(DeploymentDraft d, String status) {
        try {
            return db.insertInto(DEPLOYMENTS)
                    .set(DEPLOYMENTS.NAME, d.name())
                    .set(DEPLOYMENTS.MODEL_ID, d.model().getId())
                    .set(DEPLOYMENTS.MODE, d.mode())
                    .set(DEPLOYMENTS.COMPUTE_CONFIG, d.computeConfigJson().toString())
                    .set(
                            DEPLOYMENTS.PLACEMENT,
                            Bodies.JSON.valueToTree(d.placement().toMap()).toString())
                    .set(DEPLOYMENTS.TIME_SCALE, d.timeScale())
                    .set(DEPLOYMENTS.RETAIN_TEXT, d.retainText())
                    .set(DEPLOYMENTS.STATUS, status)
                    .returning()
                    .fetchOne();
        } catch (IntegrityConstraintViolationException e) {
            throw ApiException.conflict("name", "a deployment named '" + d.name() + "' already exists");
        }
    }

    /**
     * Puts back a deployment's configuration of before under its version of before ({@code updatedAt}), after a
     * change that failed to start: to every instance it is the configuration they run, so none restarts it.
     */
    public void restoreDeploymentConfig(
            long id, ObjectNode computeConfig, Placement placement, OffsetDateTime updatedAt, String status) {
        writeDeploymentConfig(id, computeConfig, placement, updatedAt, status);
    }

    /**
     * Records a new configuration, under a new version, with {@code status} in the same statement (a reconfiguration
     * records it as under way, so that no other instance takes it up before it serves).
     */
    public void updateDeploymentConfig(long id, ObjectNode computeConfig, Placement placement, String status) {
        writeDeploymentConfig(id, computeConfig, placement, OffsetDateTime.now(), status);
    }

    /** A configuration, its version and a status, in one statement. */
    private void writeDeploymentConfig(
            long id, ObjectNode computeConfig, Placement placement, OffsetDateTime version, String status) {
        db.update(DEPLOYMENTS)
                .set(DEPLOYMENTS.STATUS, status)
                .set(DEPLOYMENTS.COMPUTE_CONFIG, computeConfig.toString())
                .set(
                        DEPLOYMENTS.PLACEMENT,
                        Bodies.JSON.valueToTree(placement.toMap()).toString())
                .set(DEPLOYMENTS.UPDATED_AT, version)
                .where(DEPLOYMENTS.ID.eq(id))
                .execute();
    }

    /**
     * Records {@code status} only while the deployment's configuration is still version {@code version} (another
     * instance may have recorded a newer one meanwhile); returns whether it did.
     */
    public boolean setStatusIf(long id, String status, OffsetDateTime version) {
        return db.update(DEPLOYMENTS)
                        .set(DEPLOYMENTS.STATUS, status)
                        .where(DEPLOYMENTS.ID.eq(id))
                        .and(DEPLOYMENTS.UPDATED_AT.eq(version))
                        .execute()
                > 0;
    }

    /**
     * Records a deployment's status. Its {@code updated_at} stays: it is the version of its configuration, which the
     * server instances compare with the one they run (a status that bumped it made the instance that had just started
     * the deployment restart it at the next change another instance announced, an adapter added, say).
     */
    public void setStatus(long id, String status) {
        db.update(DEPLOYMENTS)
                .set(DEPLOYMENTS.STATUS, status)
                .where(DEPLOYMENTS.ID.eq(id))
                .execute();
    }

    public List<DeploymentsRecord> deploymentRecords() {
        return db.selectFrom(DEPLOYMENTS).orderBy(DEPLOYMENTS.ID).fetch();
    }

    /** By numeric id or by name. */
    public DeploymentsRecord deploymentRecord(String idOrName) {
        DeploymentsRecord r = idOrName.chars().allMatch(Character::isDigit) && !idOrName.isEmpty()
                ? db.selectFrom(DEPLOYMENTS)
                        .where(DEPLOYMENTS.ID.eq(Long.parseLong(idOrName)))
                        .fetchOne()
                : db.selectFrom(DEPLOYMENTS)
                        .where(DEPLOYMENTS.NAME.eq(idOrName))
                        .fetchOne();
        if (r == null) {
            throw ApiException.notFound("deployment", "no deployment with id or name '" + idOrName + "'");
        }
        return r;
    }

    public void deleteDeployment(long id) {
        db.deleteFrom(DEPLOYMENTS).where(DEPLOYMENTS.ID.eq(id)).execute();
    }

    /** A deployment's stored compute_config, as given (to edit) and as a replica spec. */
    public ObjectNode computeConfigOf(DeploymentsRecord r) {
        return parse(r.getComputeConfig());
    }

    public Placement placementOf(DeploymentsRecord r) {
        return placement(parse(r.getPlacement()));
    }

    static List<String> placementPools(DeploymentsRecord r) {
        List<String> out = new ArrayList<>();
        parse(r.getPlacement()).path("compute_pools").forEach(n -> out.add(n.asText()));
        return out;
    }

    public Map<String, Object> deployment(DeploymentsRecord r, String state) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.getId());
        m.put("name", r.getName());
        ModelsRecord model = modelRecord(r.getModelId());
        m.put("model", model == null ? null : model.getName());
        m.put("mode", r.getMode());
        m.put("compute_config", parse(r.getComputeConfig()));
        m.put("placement", parse(r.getPlacement()));
        m.put("time_scale", r.getTimeScale());
        m.put("retain_text", r.getRetainText());
        m.put("status", state != null ? state : r.getStatus());
        m.put("created_at", r.getCreatedAt().toString());
        m.put("updated_at", r.getUpdatedAt().toString());
        return m;
    }

    static ObjectNode parse(String json) {
        try {
            return (ObjectNode) Bodies.JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException("stored JSON is unreadable: " + json, e);
        }
    }

    private static String name(ObjectNode body) {
        String name = Bodies.requiredString(body, "name");
        if (name.length() > 200 || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw ApiException.badRequest(
                    "name",
                    "'name' must be 1 to 200 characters of letters, digits, '.', '_' and"
                            + " '-', starting with a letter or digit; got '" + name + "'");
        }
        return name;
    }

    private static String firstKeys(Collection<String> keys) {
        return keys.stream().limit(3).toList().toString();
    }
}
