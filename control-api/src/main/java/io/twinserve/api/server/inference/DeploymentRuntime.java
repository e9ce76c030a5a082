package io.twinserve.api.server.inference;

import io.twinserve.engine.backend.sim.SimulatedBackend;
import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.GenerationRequest;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.engine.serve.LiveReplicas;
import io.twinserve.engine.chat.ChatTemplate;
import io.twinserve.engine.tokenizer.Tokenizer;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToIntFunction;

/**
 * A deployment being served by this server: its replicas (each a live loop over a backend: the CPU
 * engine in live mode, the twin's timing in simulated mode), the codec for its text, and its adapters.
 */
public final class DeploymentRuntime implements AutoCloseable {
  /** A deployment's adapter: a PEFT directory, or profile-only with a rank (simulated mode). */
  public record AdapterDef(String name, Path path, int rank) {
    static AdapterDef of(io.twinserve.api.db.generated.tables.records.AdaptersRecord a) {
      return new AdapterDef(a.getName(), a.getPath() == null ? null : Path.of(a.getPath()), a.getRank());
    }
  }

  /** What the registry says about the deployment. */
  public record Settings(String name, String mode, ReplicaSpec replica, long maxTtftMs, int replicas,
      double timeScale, boolean retainText) {}

  private final Settings settings;
  private final TextCodec codec;
  private final List<ReplicaHandle> replicas;
  private final Map<String, AdapterDef> adapters = new ConcurrentHashMap<>();
  private final int maxModelLen;
  private final List<String> skipped = new ArrayList<>();

  DeploymentRuntime(Settings settings, TextCodec codec, List<ReplicaHandle> replicas, List<AdapterDef> adapters,
      int maxModelLen) {
    this.settings = settings;
    this.maxModelLen = maxModelLen;
    this.codec = codec;
    this.replicas = List.copyOf(replicas);
    for (AdapterDef a : adapters) {
      try {
        addAdapter(a);
      } catch (IllegalArgumentException e) {
        // one adapter the replicas cannot take (a rank above max_adapter_rank) must not stop the deployment
        skipped.add("'" + a.name() + "': " + e.getMessage());
      }
    }
  }

  /** The CPU engine's KV dtype for a replica's {@code kv_cache_dtype}: null for auto (the model's). */
  static io.twinserve.engine.model.DType liveKvDtype(ReplicaSpec r) {
    return LiveReplicas.CpuReplica.kvDtype(r);
  }

  /** A live deployment on the CPU engine: {@code settings.replicas()} copies of the model in this process. */
  public static DeploymentRuntime live(Settings s, Path modelDir, List<AdapterDef> adapters) {
    TextCodec codec = TextCodec.of(LiveReplicas.tokenizer(modelDir), LiveReplicas.chatTemplate(modelDir));
    LiveReplicas.CpuReplica settings = LiveReplicas.CpuReplica.of(s.replica());
    List<ReplicaHandle> replicas = new ArrayList<>();
    int modelLen = 0;
    try {
      for (int i = 0; i < s.replicas(); i++) {
        LiveReplicas.Replica replica = LiveReplicas.cpu(modelDir, settings, codec.detokenizer());
        replicas.add(new ReplicaHandle(i, replica));
        modelLen = replica.engine().schedulerConfig().maxModelLen();
      }
      return new DeploymentRuntime(s, codec, replicas, adapters, modelLen);
    } catch (RuntimeException | Error e) {
      replicas.forEach(ReplicaHandle::close);
      throw e;
    }
  }

  /** A simulated deployment: the twin's timing for {@code resolved}, placeholder text. */
  public static DeploymentRuntime simulated(Settings s, ResolvedReplica resolved, Path modelDir,
      List<AdapterDef> adapters) {
    Tokenizer tokenizer = null;
    ChatTemplate template = null;
    if (modelDir != null && Files.isRegularFile(modelDir.resolve("tokenizer.json"))) {
      tokenizer = LiveReplicas.tokenizer(modelDir);
      template = LiveReplicas.chatTemplate(modelDir);
    }
    TextCodec codec = TextCodec.placeholder(tokenizer, template);
    List<ReplicaHandle> replicas = new ArrayList<>();
    int modelLen = 0;
    try {
      for (int i = 0; i < s.replicas(); i++) {
        LiveReplicas.Replica replica = LiveReplicas.simulated(resolved, s.timeScale(), codec.detokenizer());
        replicas.add(new ReplicaHandle(i, replica));
        modelLen = replica.engine().schedulerConfig().maxModelLen();
      }
      return new DeploymentRuntime(s, codec, replicas, adapters, modelLen);
    } catch (RuntimeException | Error e) {
      replicas.forEach(ReplicaHandle::close);
      throw e;
    }
  }

  /** The longest prompt + completion a request may have. */
  public int maxModelLen() {
    return maxModelLen;
  }

  public Settings settings() {
    return settings;
  }

  public String name() {
    return settings.name();
  }

  public TextCodec codec() {
    return codec;
  }

  public Set<String> adapterNames() {
    return Set.copyOf(adapters.keySet());
  }

  public boolean hasAdapter(String name) {
    return adapters.containsKey(name);
  }

  /** Registered adapters the replicas refused at start, with the reason. */
  public List<String> skippedAdapters() {
    return List.copyOf(skipped);
  }

  /** Makes an adapter servable on every replica (vLLM's load_lora_adapter). */
  public synchronized void addAdapter(AdapterDef a) {
    if (adapters.containsKey(a.name())) {
      throw new IllegalArgumentException("adapter '" + a.name() + "' is already loaded on deployment '" + name() + "'");
    }
    List<ReplicaHandle> done = new ArrayList<>();
    try {
      for (ReplicaHandle h : replicas) {
        register(h, a);
        done.add(h);
      }
    } catch (RuntimeException e) {
      done.forEach(h -> h.engine.unregisterAdapter(a.name()));
      throw e;
    }
    adapters.put(a.name(), a);
  }

  static void register(ReplicaHandle h, AdapterDef a) {
    if (h.backend instanceof SimulatedBackend sim) {
      // simulated: the weights are never read; the loader waits the predicted storage read instead
      int rank = a.path() != null ? LoraAdapter.readRank(a.path()) : a.rank();
      h.engine.registerAdapter(a.name(), rank, sim.adapterLoader(rank));
    } else {
      h.engine.registerAdapter(a.name(), a.path());
    }
  }

  /** Stops routing new requests to an adapter; those in flight finish (vLLM's unload_lora_adapter). */
  public synchronized void removeAdapter(String name) {
    if (adapters.remove(name) == null) {
      throw new IllegalArgumentException("adapter '" + name + "' is not loaded on deployment '" + name() + "'");
    }
    for (ReplicaHandle h : replicas) {
      h.engine.unregisterAdapter(name);
    }
  }

  public int replicaCount() {
    return replicas.size();
  }

  /** Requests in flight per replica (for routing and metrics). */
  public int inFlight(int replica) {
    return replicas.get(replica).inFlight.get();
  }

  public LiveEngine.Stats stats(int replica) {
    return replicas.get(replica).engine.stats();
  }

  public LiveEngine.Residency residency(int replica) {
    return replicas.get(replica).engine.residency();
  }

  /**
   * Queues a request on a replica. {@code chooser} picks the replica from the loads when the request has a
   * session (so every server instance routes a session alike); without one the least-loaded replica runs it.
   */
  public LiveEngine.Handle submit(String adapter, int[] prompt, SamplingParams sampling, ToIntFunction<int[]> chooser,
      TokenSink sink) {
    if (adapter != null && !adapters.containsKey(adapter)) {
      throw new IllegalArgumentException("adapter '" + adapter + "' is not loaded on deployment '" + name()
          + "'; loaded: " + adapters.keySet());
    }
    int[] loads = new int[replicas.size()];
    for (int i = 0; i < loads.length; i++) {
      loads[i] = replicas.get(i).inFlight.get();
    }
    int chosen = chooser == null ? leastLoaded(loads) : chooser.applyAsInt(loads);
    ReplicaHandle h = replicas.get(chosen);
    h.inFlight.incrementAndGet();
    try {
      return h.engine.submit(new GenerationRequest(adapter, prompt, sampling, wallTtftMs()), new TokenSink() {
        @Override
        public void onToken(int tokenId, String text) {
          sink.onToken(tokenId, text);
        }

        @Override
        public void onFinished(Completion completion) {
          h.inFlight.decrementAndGet();
          sink.onFinished(completion);
        }
      });
    } catch (RuntimeException e) {
      h.inFlight.decrementAndGet();
      throw e;
    }
  }

  /** max_ttft_ms on the wall clock: a simulated deployment's clock runs time_scale times faster. */
  private long wallTtftMs() {
    if (!settings.mode().equals("simulated")) {
      return settings.maxTtftMs();
    }
    return Math.max(1, Math.round(settings.maxTtftMs() / settings.timeScale()));
  }

  private static final java.util.concurrent.atomic.AtomicInteger ROTATION = new java.util.concurrent.atomic.AtomicInteger();

  /** The replica with the fewest requests in flight; ties go round-robin, so light load still spreads. */
  static int leastLoaded(int[] loads) {
    int n = loads.length;
    int start = Math.floorMod(ROTATION.getAndIncrement(), n);
    int best = start;
    for (int k = 1; k < n; k++) {
      int i = (start + k) % n;
      if (loads[i] < loads[best]) {
        best = i;
      }
    }
    return best;
  }


  @Override
  public void close() {
    for (ReplicaHandle h : replicas) {
      h.close();
    }
  }
}
