package io.twinserve.api.server.inference;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.context.event.StartupEvent;
import io.micronaut.http.HttpStatus;
import io.twinserve.api.db.generated.tables.records.AdaptersRecord;
import io.twinserve.api.db.generated.tables.records.ComputePoolsRecord;
import io.twinserve.api.db.generated.tables.records.DeploymentsRecord;
import io.twinserve.api.db.generated.tables.records.ModelsRecord;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.infra.Redis;
import io.twinserve.api.server.interactions.InteractionWriter;
import io.twinserve.api.server.registry.Placement;
import io.twinserve.api.server.registry.RegistryService;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.backend.cuda.CudaUnavailableException;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.serve.LiveReplicas;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.router.RouterSpec;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts, stops and finds the deployments this server serves. At start it brings back every deployment
 * the registry marks running; deploying checks memory (the twin's memory model on the pool's GPU, or the
 * JVM heap for the CPU engine) before anything starts.
 *
 * <p>Why it is long: it is the one place that keeps this instance's runtimes in step with the shared registry (deploy,
 * reconfigure with its rollback, undeploy, adapters, the announced syncs and the periodic reconciliation, start
 * failures with their backoff, retired runtimes draining), plus the memory and pool checks every change runs, all
 * under one lock over one map; each deployment's running state is a DeploymentRuntime.
 */
@Singleton
public final class DeploymentManager implements ApplicationEventListener<StartupEvent> {
    private static final Logger LOG = LoggerFactory.getLogger(DeploymentManager.class);
    public static final String RUNNING = "running";
    public static final String FAILED = "failed";
    /**
     * A new configuration recorded by the instance that is starting it: the others keep what they run (and start
     * nothing) until it serves and says so, or until it has been under way for {@link #SETTLED} (that instance died, or
     * its build is taking that long).
     */
    public static final String RECONFIGURING = "reconfiguring";

    /** Deployments changed by one server instance are brought in line on the others through this channel. */
    static final String CHANNEL = "twinserve:deployments:changed";

    private final String instance = UUID.randomUUID().toString();
    private final RegistryService registry;
    private final Redis redis;
    private final Map<String, OffsetDateTime> startedVersion = new ConcurrentHashMap<>();
    private final ExecutorService syncer = Executors.newSingleThreadExecutor(r ->
            Thread.ofPlatform().daemon(true).name("twinserve-deployment-sync").unstarted(r));
    private final Map<String, DeploymentRuntime> running = new ConcurrentHashMap<>();
    /** Deployments not running here while another instance starts a new configuration of them (see RECONFIGURING). */
    private final Set<String> awaiting = ConcurrentHashMap.newKeySet();
    /** Where each deployment serves, as every instance reports it (this one writes its own entries). */
    private final InstanceStates states;
    /**
     * Deployments recorded as running that could not start on this instance: why, when the reconciliation may try
     * again (System.nanoTime) and the wait before that ({@link #notStartedHere}).
     */
    private record StartFailure(String reason, long retryAtNs, long waitNs) {}

    private final Map<String, StartFailure> failedHere = new ConcurrentHashMap<>();
    /** Deployments with a sync queued (one each). */
    private final Set<String> pendingSyncs = ConcurrentHashMap.newKeySet();

    private final AtomicLong syncs = new AtomicLong();
    /** Runtimes taken out of service and finishing their requests ({@link #retire}). */
    private final Set<DeploymentRuntime> draining = ConcurrentHashMap.newKeySet();
    // platform threads: a replica's close may free device memory, which a CUDA context ties to an OS thread
    private final ExecutorService drainer = Executors.newCachedThreadPool(r ->
            Thread.ofPlatform().daemon(true).name("twinserve-deployment-drain").unstarted(r));

    /**
     * @param interactions unused here, but taking it makes the writer outlive the deployments at shutdown, so
     *     the requests they drain are still recorded
     */
    public DeploymentManager(RegistryService registry, InteractionWriter interactions, Redis redis) {
        this(registry, interactions, redis, java.time.Duration.ofSeconds(30));
    }

    /** @param reconcileInterval how often {@link #reconcile} runs: the instance states expire after three */
    @jakarta.inject.Inject
    public DeploymentManager(
            RegistryService registry,
            InteractionWriter interactions,
            Redis redis,
            @io.micronaut.context.annotation.Value("${twinserve.deployments.reconcile-interval:30s}")
                    java.time.Duration reconcileInterval) {
        this.registry = registry;
        this.redis = redis;
        this.states = new InstanceStates(redis, instance, Math.max(10, 3 * reconcileInterval.toSeconds()));
        redis.subscribe(CHANNEL, message -> {
            int sep = message.indexOf('|');
            if (sep > 0 && !message.substring(0, sep).equals(instance)) {
                syncLater(message.substring(sep + 1));
            }
        });
    }

    /**
     * Starts the deployments recorded as running. Under the lock: a change another instance announces meanwhile
     * (its sync) must not build the same deployment at the same time.
     */
    @Override
    public synchronized void onApplicationEvent(StartupEvent event) {
        OffsetDateTime settled = OffsetDateTime.now().minus(SETTLED);
        for (DeploymentsRecord d : registry.deploymentRecords()) {
            if (underWay(d, settled) && !running.containsKey(d.getName())) {
                // being reconfigured elsewhere: it starts here once it serves there (the reconciliation follows it)
                awaiting.add(d.getName());
                continue;
            }
            if (!serves(d, settled) || running.containsKey(d.getName())) {
                continue;
            }
            try {
                start(d);
            } catch (RuntimeException e) {
                // this instance's failure (its GPU, its memory), not the deployment's: the shared status stays, so
                // that the other instances go on serving it, and the reconciliation tries again here
                failedHere(d.getName(), e);
            }
        }
    }

    public DeploymentRuntime get(String name) {
        return running.get(name);
    }

    /**
     * Why a deployment the registry records as running could not start on this instance (null when it runs here, or
     * was never tried): its requests here are refused with this reason, and it is tried again at each reconciliation.
     */
    public String notStartedHere(String name) {
        StartFailure f = failedHere.get(name);
        return f == null ? null : f.reason();
    }

    /**
     * Every server instance's state of {@code name} ({@code instance}, {@code host}, {@code state}: serving or failed,
     * {@code error}, {@code since}), as they report it in Redis; empty when Redis cannot be read.
     */
    public List<Map<String, Object>> instances(String name) {
        return states.of(name);
    }

    /** {@link #instances(String)} of every deployment at once, by name. */
    public Map<String, List<Map<String, Object>>> instances() {
        return states.all();
    }

    /** Lets the next reconciliation try a deployment that failed to start here at once, its backoff cleared. */
    public void retry(String name) {
        failedHere.computeIfPresent(name, (n, f) -> new StartFailure(f.reason(), System.nanoTime(), f.waitNs()));
    }

    private void failedHere(String name, RuntimeException e) {
        String reason = e.getMessage() == null ? e.toString() : e.getMessage();
        // tried again after 30 s, then twice as long each time, at most 10 minutes (a build can take minutes)
        StartFailure before = failedHere.get(name);
        long wait = before == null ? 30_000_000_000L : Math.min(2 * before.waitNs(), 600_000_000_000L);
        failedHere.put(name, new StartFailure(reason, System.nanoTime() + wait, wait));
        states.failed(name, reason);
        if (before == null || !reason.equals(before.reason())) {
            LOG.error("deployment '{}' could not start on this instance (tried again every reconciliation)", name, e);
        } else {
            LOG.debug("deployment '{}' still cannot start on this instance: {}", name, reason);
        }
    }

    public Collection<DeploymentRuntime> all() {
        return running.values();
    }

    /** Validates, checks memory, records and starts a deployment. */
    public synchronized DeploymentsRecord deploy(RegistryService.DeploymentDraft d) {
        check(
                d.model(),
                d.mode(),
                d.computeConfig(),
                RegistryService.backendOf(d.computeConfigJson()),
                d.placement(),
                d.name());
        DeploymentsRecord r = registry.insertDeployment(d, "starting");
        try {
            start(r);
            registry.setStatus(r.getId(), RUNNING);
            r.setStatus(RUNNING);
            changed(r.getName());
            return r;
        } catch (RuntimeException e) {
            registry.deleteDeployment(r.getId());
            throw e;
        }
    }

    /**
     * Re-applies a new compute config and placement (autoconfigure): checked first, then restarted without
     * losing a request (the new replicas take arrivals while the old ones finish theirs).
     */
    public synchronized DeploymentsRecord reconfigure(DeploymentsRecord r, ObjectNode cc, Placement placement) {
        ReplicaSpec spec = RegistryService.replicaSpec(cc);
        ModelsRecord model = registry.modelRecord(r.getModelId());
        check(model, r.getMode(), spec, RegistryService.backendOf(cc), placement, r.getName());
        // the configuration it runs now, read under the lock (another reconfiguration may have just changed it)
        DeploymentsRecord before = registry.deploymentRecord(String.valueOf(r.getId()));
        if (underWay(before, OffsetDateTime.now().minus(SETTLED))) {
            throw ApiException.conflict(
                    "deployment",
                    "deployment '" + r.getName() + "' is being reconfigured (since " + before.getUpdatedAt()
                            + "); try again once its status is running");
        }
        ObjectNode beforeCc = registry.computeConfigOf(before);
        Placement beforePlacement = registry.placementOf(before);
        // the new runtime starts before the old one stops (start swaps them, then drains the old one): requests
        // that arrive meanwhile go to the new one, those in flight finish on the old one, and none is refused
        // recorded as under way: no other instance starts this configuration before it serves here (a GPU build
        // may take minutes), whatever it hears meanwhile
        registry.updateDeploymentConfig(r.getId(), cc, placement, RECONFIGURING);
        DeploymentsRecord updated = registry.deploymentRecord(String.valueOf(r.getId()));
        try {
            start(updated);
            // running under this version only: one recorded by another instance meanwhile stays under way
            registry.setStatusIf(updated.getId(), RUNNING, updated.getUpdatedAt());
            changed(r.getName());
        } catch (RuntimeException e) {
            restoreAfterFailedRestart(before, beforeCc, beforePlacement, e);
            throw e;
        }
        return registry.deploymentRecord(String.valueOf(r.getId()));
    }

    /**
     * A restart with a new configuration failed to build: the deployment keeps its configuration of before. Where
     * the old runtime still serves (the new one is built first, off the GPU) nothing else changes; where it was
     * drained first (a GPU it filled), it is built again with that configuration, the device being free now.
     * Only when that fails too is the deployment marked failed and stopped.
     */
    private void restoreAfterFailedRestart(
            DeploymentsRecord before, ObjectNode beforeCc, Placement beforePlacement, RuntimeException cause) {
        String name = before.getName();
        // the configuration of before, running, in one statement: no instance sees the failed one settle
        registry.restoreDeploymentConfig(before.getId(), beforeCc, beforePlacement, before.getUpdatedAt(), RUNNING);
        DeploymentRuntime current = running.get(name);
        if (current != null && !current.isClosed()) {
            LOG.warn("deployment '{}' keeps its configuration: the new one failed to start", name, cause);
            return;
        }
        try {
            start(registry.deploymentRecord(String.valueOf(before.getId())));
            LOG.warn(
                    "deployment '{}' runs its configuration of before again: the new one failed to start", name, cause);
        } catch (RuntimeException | Error again) {
            cause.addSuppressed(again);
            LOG.error("deployment '{}' could not start with its configuration of before either; stopped", name, again);
            registry.setStatus(before.getId(), FAILED);
            stop(name);
        } finally {
            changed(name);
        }
    }

    /**
     * A new adapter of {@code model} becomes servable on its running deployments. If one of them refuses it
     * (a rank above its max_adapter_rank, say), those that took it drop it again and the error goes back.
     */
    public synchronized void adapterAdded(String model, String adapter) {
        ModelsRecord m = registry.modelRecord(model);
        AdaptersRecord a = registry.adapterRecord(m.getId(), adapter);
        List<DeploymentRuntime> added = new ArrayList<>();
        try {
            for (DeploymentsRecord d : registry.deploymentRecords()) {
                DeploymentRuntime rt = running.get(d.getName());
                if (rt != null && d.getModelId().equals(m.getId()) && !rt.hasAdapter(adapter)) {
                    if (a.getPath() == null && d.getMode().equals("live")) {
                        continue;
                    }
                    rt.addAdapter(DeploymentRuntime.AdapterDef.of(a));
                    added.add(rt);
                }
            }
        } catch (RuntimeException e) {
            for (DeploymentRuntime rt : added) {
                rt.removeAdapter(adapter);
            }
            throw e;
        }
        publishModel(m);
    }

    private void publishModel(ModelsRecord m) {
        for (DeploymentsRecord d : registry.deploymentRecords()) {
            if (d.getModelId().equals(m.getId())) {
                changed(d.getName());
            }
        }
    }

    /** An adapter of {@code model} stops taking new requests on its running deployments. */
    public synchronized void adapterRemoved(String model, String adapter) {
        ModelsRecord m = registry.modelRecord(model);
        for (DeploymentsRecord d : registry.deploymentRecords()) {
            DeploymentRuntime rt = running.get(d.getName());
            if (rt != null && d.getModelId().equals(m.getId()) && rt.hasAdapter(adapter)) {
                rt.removeAdapter(adapter);
            }
        }
        publishModel(m);
    }

    public synchronized void undeploy(DeploymentsRecord r) {
        stop(r.getName());
        registry.deleteDeployment(r.getId());
        changed(r.getName());
    }

    private void changed(String deployment) {
        redis.publish(CHANNEL, instance + "|" + deployment);
    }

    /** Another instance changed a deployment (or its model's adapters): follow the registry. */
    private void syncLater(String name) {
        if (!pendingSyncs.add(name)) {
            // already queued: that sync reads the registry when it runs
            return;
        }
        syncer.submit(() -> {
            pendingSyncs.remove(name);
            try {
                sync(name);
            } catch (RuntimeException e) {
                LOG.error(
                        "deployment '{}' could not follow a change made by another instance: {}", name, e.getMessage());
            } finally {
                syncs.incrementAndGet();
            }
        });
    }

    /**
     * Follows the registry even when an announcement was lost (Redis away when another instance published it, or this
     * instance's subscription reconnecting): every deployment the registry or this instance knows is synced in the
     * background, which restarts, stops or changes the adapters of those that differ and leaves the others.
     */
    @io.micronaut.scheduling.annotation.Scheduled(
            fixedDelay = "${twinserve.deployments.reconcile-interval:30s}",
            initialDelay = "${twinserve.deployments.reconcile-interval:30s}")
    public void reconcile() {
        // this instance's states, renewed before they expire (and written again after Redis was away)
        states.renew();
        List<DeploymentsRecord> records;
        try {
            records = registry.deploymentRecords();
        } catch (RuntimeException e) {
            // the database is away: the next round follows
            LOG.debug("deployments not reconciled with the registry: {}", e.toString());
            return;
        }
        long now = System.nanoTime();
        OffsetDateTime settled = OffsetDateTime.now().minus(SETTLED);
        // known here: running, failed to start here, or waiting for another instance's reconfiguration
        Set<String> names = new HashSet<>(running.keySet());
        names.addAll(failedHere.keySet());
        names.addAll(awaiting);
        Set<String> differ = new HashSet<>();
        for (DeploymentsRecord d : records) {
            String name = d.getName();
            names.remove(name);
            DeploymentRuntime rt = running.get(name);
            if (underWay(d, settled)) {
                // its instance is starting a new configuration: what runs here goes on until it says it serves
                if (rt == null) {
                    awaiting.add(name);
                }
                continue;
            }
            if (!serves(d, settled)) {
                if (rt != null || failedHere.containsKey(name) || awaiting.contains(name)) {
                    // stopped, or no longer to be tried or waited for here
                    differ.add(name);
                }
            } else if (rt == null) {
                // not serving here: start it, after a failure here only once its backoff has passed
                StartFailure f = failedHere.get(name);
                if (f == null || now - f.retryAtNs() >= 0) {
                    differ.add(name);
                }
            } else if (!d.getUpdatedAt().equals(startedVersion.get(name))) {
                // another configuration that serves where it was made (recorded as running only then, or under way so
                // long that it counts as done): its announcement was lost
                differ.add(name);
            }
        }
        // running here, gone from the registry
        differ.addAll(names);
        for (String name : differ) {
            try {
                syncLater(name);
            } catch (RejectedExecutionException stopping) {
                return;
            }
        }
    }

    /**
     * How long a reconfiguration may be under way before the other instances take its configuration up without hearing
     * that it serves (the instance making it died, or its build takes that long).
     */
    private static final java.time.Duration SETTLED = java.time.Duration.ofMinutes(10);

    /** Changes announced by other instances followed so far (or failed to follow), reconciliations included. */
    public long syncsDone() {
        return syncs.get();
    }

    synchronized void sync(String name) {
        DeploymentsRecord d = registry.deploymentRecords().stream()
                .filter(x -> x.getName().equals(name))
                .findFirst()
                .orElse(null);
        DeploymentRuntime rt = running.get(name);
        OffsetDateTime settled = OffsetDateTime.now().minus(SETTLED);
        if (d != null && underWay(d, settled)) {
            // another instance is starting a new configuration: keep what runs here (its adapters followed below)
            // and start nothing until that instance says it serves
            if (rt != null) {
                syncAdapters(d, rt);
            } else {
                awaiting.add(name);
            }
            return;
        }
        if (d == null || !serves(d, settled)) {
            stop(name);
            return;
        }
        if (rt == null) {
            try {
                start(d);
                settleIfLeftUnderWay(d);
            } catch (RuntimeException e) {
                failedHere(name, e);
            }
            return;
        }
        if (!d.getUpdatedAt().equals(startedVersion.get(name))) {
            start(d);
            settleIfLeftUnderWay(d);
            return;
        }
        // same configuration: the model's adapters may have changed
        syncAdapters(d, rt);
    }

    /**
     * A configuration left under way longer than SETTLED (its instance died mid-way) that now serves here is recorded
     * as running, under its version only, so the registry no longer says it is being reconfigured.
     */
    private void settleIfLeftUnderWay(DeploymentsRecord d) {
        if (RECONFIGURING.equals(d.getStatus())) {
            registry.setStatusIf(d.getId(), RUNNING, d.getUpdatedAt());
        }
    }

    /** Whether a deployment is waiting here for another instance's reconfiguration to serve before it starts. */
    public boolean awaitingReconfiguration(String name) {
        return awaiting.contains(name) && !running.containsKey(name);
    }

    /** Whether every instance is to serve {@code d}: running, or reconfigured so long ago that it counts as done. */
    private static boolean serves(DeploymentsRecord d, OffsetDateTime settled) {
        return RUNNING.equals(d.getStatus()) || (RECONFIGURING.equals(d.getStatus()) && !underWay(d, settled));
    }

    /** Whether an instance is starting a new configuration of {@code d} now (recorded less than SETTLED ago). */
    private static boolean underWay(DeploymentsRecord d, OffsetDateTime settled) {
        return RECONFIGURING.equals(d.getStatus()) && d.getUpdatedAt().isAfter(settled);
    }

    /** Adds the model's adapters {@code rt} lacks and removes those the model no longer has. */
    private void syncAdapters(DeploymentsRecord d, DeploymentRuntime rt) {
        String name = d.getName();
        ModelsRecord m = registry.modelRecord(d.getModelId());
        Set<String> wanted = new HashSet<>();
        for (AdaptersRecord a : registry.adapterRecords(m.getId())) {
            wanted.add(a.getName());
            if (!rt.hasAdapter(a.getName())
                    && !(a.getPath() == null && d.getMode().equals("live"))) {
                try {
                    rt.addAdapter(DeploymentRuntime.AdapterDef.of(a));
                } catch (IllegalArgumentException e) {
                    LOG.warn("deployment '{}' does not serve adapter '{}': {}", name, a.getName(), e.getMessage());
                }
            }
        }
        for (String a : rt.adapterNames()) {
            if (!wanted.contains(a)) {
                rt.removeAdapter(a);
            }
        }
    }

    private void stop(String name) {
        startedVersion.remove(name);
        failedHere.remove(name);
        awaiting.remove(name);
        states.gone(name);
        DeploymentRuntime rt = running.get(name);
        if (rt != null) {
            // counted as draining before it leaves the running ones: the shutdown's count of requests in flight never
            // misses it
            draining.add(rt);
            running.remove(name);
            retire(name, rt, null);
        }
    }

    /**
     * Closes a runtime taken out of service ({@code successor}: the one that replaced it, which takes any request
     * that still reaches it; null: none). Closing waits for the requests in flight there to finish, which may take
     * minutes: off the manager's lock, on a thread of its own, so that the other deployments' changes (and this
     * one's next) go on meanwhile; its requests still count in {@link #inFlight} until it has closed. A runtime that
     * holds a device (a GPU) closes before this returns, so the device is free for what is built next.
     */
    private void retire(String name, DeploymentRuntime rt, DeploymentRuntime successor) {
        draining.add(rt);
        if (!rt.holdsDevice()) {
            try {
                drainer.execute(() -> {
                    try {
                        closeRetired(name, rt, successor);
                    } finally {
                        draining.remove(rt);
                    }
                });
                return;
            } catch (RejectedExecutionException shuttingDown) {
                // the manager has closed (a change that waited for its lock runs after): close it here
            }
        }
        try {
            closeRetired(name, rt, successor);
        } finally {
            draining.remove(rt);
        }
    }

    private static void closeRetired(String name, DeploymentRuntime rt, DeploymentRuntime successor) {
        try {
            if (successor != null) {
                rt.replaceWith(successor);
            } else {
                rt.close();
            }
        } catch (RuntimeException e) {
            // its successor (if any) serves already: an old replica that failed to close (a device error) is logged,
            // not taken for a failed change
            LOG.warn("deployment '{}': closing the retired replicas failed", name, e);
        }
    }

    /**
     * The memory check and the pool check, with the shortfall in GiB when the configuration does not fit.
     *
     * @param backend {@code compute_config.backend}: auto, cpu or cuda
     */
    void check(ModelsRecord model, String mode, ReplicaSpec replica, String backend, Placement placement, String name) {
        if (!mode.equals("live") && !backend.equals("auto")) {
            throw ApiException.badRequest(
                    "compute_config.backend",
                    "'compute_config.backend' applies to live deployments only (a simulated one runs the twin); got '"
                            + backend + "'");
        }
        for (String poolName : placement.computePools()) {
            ComputePoolsRecord pool = registry.poolRecord(poolName);
            int gpusNeeded = replica.tp() * placement.minReplicas();
            boolean cpu = RegistryService.CPU_GPU.equals(pool.getGpu());
            if (!cpu && pool.getGpus() < gpusNeeded) {
                throw new ApiException(
                        HttpStatus.UNPROCESSABLE_ENTITY,
                        "invalid_request_error",
                        "placement.compute_pools",
                        "insufficient_gpus",
                        "deployment '" + name + "' needs tp x min_replicas = " + gpusNeeded + " GPUs but pool '"
                                + poolName + "' has " + pool.getGpus());
            }
            if (mode.equals("live")) {
                if (liveBackend(backend, pool, name, replica) == EngineBackend.Kind.CPU) {
                    checkHeap(model, replica, placement, name);
                }
                // on CUDA the memory plan runs when each replica starts, against the device it finds
            } else {
                if (cpu) {
                    throw new ApiException(
                            HttpStatus.UNPROCESSABLE_ENTITY,
                            "invalid_request_error",
                            "placement.compute_pools",
                            "no_gpu_profile",
                            "a simulated deployment needs a pool with a GPU profile to time its steps; pool '"
                                    + poolName + "' is gpu: cpu");
                }
                resolve(model, replica, pool.getGpu(), name);
            }
        }
    }

    /**
     * The engine a live deployment runs on: {@code compute_config.backend}, or for {@code auto} the pool's (the
     * CPU engine on a pool with {@code gpu: cpu}, CUDA on a GPU pool). Refused with the reason when the two
     * disagree, or when CUDA cannot run on this server (one line naming what is missing, {@code libcuda.so.1} or
     * a device) or above one GPU per replica.
     */
    static EngineBackend.Kind liveBackend(String backend, ComputePoolsRecord pool, String name, ReplicaSpec replica) {
        boolean cpu = RegistryService.CPU_GPU.equals(pool.getGpu());
        if (cpu) {
            if (backend.equals("cuda")) {
                throw new ApiException(
                        HttpStatus.UNPROCESSABLE_ENTITY,
                        "invalid_request_error",
                        "compute_config.backend",
                        "no_backend",
                        "deployment '" + name + "': compute_config.backend 'cuda' needs a pool with GPUs; pool '"
                                + pool.getName() + "' is gpu: cpu");
            }
            return EngineBackend.Kind.CPU;
        }
        if (backend.equals("cpu")) {
            throw new ApiException(
                    HttpStatus.UNPROCESSABLE_ENTITY,
                    "invalid_request_error",
                    "compute_config.backend",
                    "no_backend",
                    "deployment '" + name + "': compute_config.backend 'cpu' runs on a pool with gpu: cpu; pool '"
                            + pool.getName() + "' has " + pool.getGpu() + " GPUs");
        }
        if (replica.tp() != 1) {
            throw new ApiException(
                    HttpStatus.UNPROCESSABLE_ENTITY,
                    "invalid_request_error",
                    "compute_config.tp",
                    "no_backend",
                    "deployment '" + name + "': the CUDA backend runs one GPU per replica (tp 1), got tp "
                            + replica.tp());
        }
        try {
            return EngineBackend.Kind.requireCuda();
        } catch (CudaUnavailableException e) {
            throw new ApiException(
                    HttpStatus.UNPROCESSABLE_ENTITY,
                    "invalid_request_error",
                    "placement.compute_pools",
                    "no_backend",
                    "deployment '" + name + "' on pool '" + pool.getName() + "' (gpu " + pool.getGpu()
                            + ") runs live on the CUDA backend, which cannot start on this server: " + e.getMessage()
                            + ". Deploy it in simulated mode, or live on a pool with gpu: cpu");
        }
    }

    /** The twin's resolution of the deployment on a GPU profile, which includes the memory check. */
    ResolvedReplica resolve(ModelsRecord model, ReplicaSpec replica, String gpu, String name) {
        String modelRef = model.getProfile() != null
                ? model.getProfile()
                : Path.of(model.getPath(), "config.json").toString();
        try {
            return Deployments.resolve(
                    new DeploymentSpec(name, modelRef, gpu, replica, null, null), registry.profiles());
        } catch (InsufficientGpuMemoryException e) {
            throw insufficientGpuMemory(name, gpu, e);
        } catch (SpecException e) {
            String key = e.keyPath() == null || e.keyPath().isEmpty() ? "compute_config" : e.keyPath();
            throw ApiException.badRequest(key, "'" + key + "': " + e.problem());
        } catch (IOException e) {
            throw ApiException.badRequest("model", "model '" + model.getName() + "': " + e.getMessage());
        }
    }

    private static ApiException insufficientGpuMemory(String name, String gpu, InsufficientGpuMemoryException e) {
        return new ApiException(
                HttpStatus.UNPROCESSABLE_ENTITY,
                "invalid_request_error",
                "compute_config",
                "insufficient_gpu_memory",
                String.format(
                        Locale.ROOT,
                        "deployment '%s' does not fit on %s: short by %.2f GiB" + " per GPU. %s",
                        name,
                        gpu,
                        e.shortfallGib(),
                        e.getMessage()));
    }

    /**
     * The CPU engine keeps its KV cache on the heap (bf16, or float32 for float32 models or when asked): it
     * must fit next to what is already used. Its size is the replica's as {@link LiveReplicas.ModelReplica}
     * builds it, so the check and the replica cannot disagree about the default.
     */
    private void checkHeap(ModelsRecord model, ReplicaSpec replica, Placement placement, String name) {
        ModelConfig c = ModelConfig.read(Path.of(model.getPath(), "config.json"));
        DType kvDtype;
        try {
            kvDtype = DeploymentRuntime.liveKvDtype(replica);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("compute_config.kv_cache_dtype", e.getMessage());
        }
        DType stored = CpuBackend.kvDtypeFor(kvDtype, c.dtype());
        long kvTokens = LiveReplicas.ModelReplica.kvCacheTokens(replica);
        long perReplica = 2L * c.numLayers() * c.kvDim() * stored.bytes() * kvTokens;
        long need = perReplica * placement.minReplicas();
        Runtime rt = Runtime.getRuntime();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        long reserve = 64L << 20;
        if (need + reserve > free) {
            throw new ApiException(
                    HttpStatus.UNPROCESSABLE_ENTITY,
                    "invalid_request_error",
                    "compute_config.kv_cache_len",
                    "insufficient_memory",
                    String.format(
                            Locale.ROOT,
                            "deployment '%s' does not fit in this server's memory:"
                                    + " its KV cache needs %.2f GiB (%d tokens x %d replicas, %s) and %.2f GiB is free; short by"
                                    + " %.2f GiB. Lower kv_cache_len or raise the JVM heap (-Xmx)%s",
                            name,
                            need / 1073741824.0,
                            kvTokens,
                            placement.minReplicas(),
                            stored == DType.F32 ? "float32" : "bf16",
                            free / 1073741824.0,
                            (need + reserve - free) / 1073741824.0,
                            draining.isEmpty()
                                    ? ""
                                    : "; " + draining.size() + " retired deployment runtime(s) still finishing their"
                                            + " requests hold memory until they end: retry then"));
        }
    }

    private void start(DeploymentsRecord r) {
        ModelsRecord model = registry.modelRecord(r.getModelId());
        Placement placement = registry.placementOf(r);
        ObjectNode cc = registry.computeConfigOf(r);
        ReplicaSpec replica = RegistryService.replicaSpec(cc);
        List<DeploymentRuntime.AdapterDef> adapters = new ArrayList<>();
        for (AdaptersRecord a : registry.adapterRecords(model.getId())) {
            adapters.add(DeploymentRuntime.AdapterDef.of(a));
        }
        DeploymentRuntime.Settings settings = new DeploymentRuntime.Settings(
                r.getName(),
                r.getMode(),
                replica,
                placement.maxTtftMs(),
                placement.minReplicas(),
                r.getTimeScale(),
                r.getRetainText(),
                placement.router(),
                RegistryService.shadowOf(cc),
                RegistryService.faultOf(cc),
                RegistryService.restartOf(cc));
        RedisSessionStore sessions = new RedisSessionStore(redis, r.getName());
        DeploymentRuntime rt;
        CompletableFuture<DeploymentRuntime> handover = null;
        if (r.getMode().equals("live")) {
            boolean first = !running.containsKey(r.getName());
            for (DeploymentRuntime.AdapterDef a : List.copyOf(adapters)) {
                if (a.path() == null) {
                    if (first) {
                        throw ApiException.badRequest(
                                "adapters",
                                "adapter '" + a.name() + "' of model '" + model.getName()
                                        + "' is profile-only (no path); a live deployment needs PEFT directories");
                    }
                    // one added to the model after the deployment started (its running replicas skipped it too):
                    // a restart must not stop the deployment over it
                    LOG.warn(
                            "deployment '{}' does not serve profile-only adapter '{}' (a live deployment needs PEFT"
                                    + " directories)",
                            r.getName(),
                            a.name());
                    adapters.remove(a);
                }
            }
            EngineBackend.Kind kind = liveBackend(
                    RegistryService.backendOf(cc),
                    registry.poolRecord(placement.computePools().get(0)),
                    r.getName(),
                    replica);
            DeploymentRuntime current = running.get(r.getName());
            if (current != null && kind == EngineBackend.Kind.CUDA) {
                // the GPU cannot hold the old replicas and the new ones at once (the memory plan gives each most of
                // it): the old drain and free it first, and requests that arrive meanwhile wait for the new
                handover = new CompletableFuture<>();
                try {
                    current.drainFor(handover);
                } catch (RuntimeException e) {
                    // an old replica that failed to close (a device error) has freed what it could: build the new
                    LOG.warn("deployment '{}': closing the old replicas for the restart failed", r.getName(), e);
                }
            }
            try {
                rt = DeploymentRuntime.live(settings, Path.of(model.getPath()), adapters, sessions, kind);
            } catch (InsufficientGpuMemoryException e) {
                if (handover != null) {
                    handover.completeExceptionally(e);
                }
                throw insufficientGpuMemory(r.getName(), "this server's GPU", e);
            } catch (RuntimeException | Error e) {
                if (handover != null) {
                    handover.completeExceptionally(e);
                }
                throw e;
            }
        } else {
            ComputePoolsRecord pool =
                    registry.poolRecord(placement.computePools().get(0));
            ResolvedReplica resolved = resolve(model, replica, pool.getGpu(), r.getName());
            rt = DeploymentRuntime.simulated(
                    settings, resolved, model.getPath() == null ? null : Path.of(model.getPath()), adapters, sessions);
        }
        DeploymentRuntime replaced = running.get(r.getName());
        if (replaced != null && handover == null) {
            // counted as draining before it is replaced (see stop)
            draining.add(replaced);
        }
        DeploymentRuntime old = running.put(r.getName(), rt);
        failedHere.remove(r.getName());
        awaiting.remove(r.getName());
        startedVersion.put(r.getName(), r.getUpdatedAt());
        states.serving(r.getName());
        for (String skipped : rt.skippedAdapters()) {
            LOG.warn("deployment '{}' does not serve adapter {}", r.getName(), skipped);
        }
        if (handover != null) {
            handover.complete(rt);
        } else if (old != null) {
            retire(r.getName(), old, rt);
        }
        LOG.info(
                "deployment '{}' serving ({} mode, {} replica(s), router {})",
                r.getName(),
                r.getMode(),
                placement.minReplicas(),
                RouterSpec.typeName(placement.router()));
    }

    /** Inference requests in flight on every deployment, retired ones still draining included (the shutdown drains them to zero). */
    public int inFlight() {
        int n = 0;
        for (DeploymentRuntime d : running.values()) {
            n += d.totalInFlight();
        }
        for (DeploymentRuntime d : draining) {
            n += d.totalInFlight();
        }
        return n;
    }

    /**
     * Stops every deployment. Under the lock, so that a deployment being built now (an autoconfigure, a sync) is
     * installed first and closed here, not installed after this and left running.
     */
    @PreDestroy
    public synchronized void close() {
        syncer.shutdownNow();
        for (String name : List.copyOf(running.keySet())) {
            try {
                stop(name);
            } catch (RuntimeException e) {
                // a device error closing one deployment must not keep the others from freeing theirs
                LOG.error("deployment '{}' did not close cleanly", name, e);
            }
        }
        // those that failed to start here: this instance no longer reports on them
        for (String name : states.deployments()) {
            states.gone(name);
        }
        // every retired runtime closed (its requests finished) before the server goes on stopping
        drainer.shutdown();
        try {
            while (!drainer.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS)) {
                LOG.info("waiting for {} retired deployment runtime(s) to finish their requests", draining.size());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
