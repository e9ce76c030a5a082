package io.twinserve.twin.sim;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

/** Replicas and workloads for simulator tests. */
final class SimTestSupport {
    private SimTestSupport() {}

    /** Resolves a deployment given as YAML (the format users write). */
    static ResolvedReplica replica(String deploymentYaml) throws IOException {
        DeploymentSpec spec = Deployments.parse(deploymentYaml, Path.of("test-deployment.yaml"));
        return Deployments.resolve(spec, Profiles.builtIn());
    }

    /** A fixed list of requests as a trace. */
    static TraceReader trace(List<Request> requests) {
        Iterator<Request> it = requests.iterator();
        return () -> it.hasNext() ? it.next() : null;
    }
}
