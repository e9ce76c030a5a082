package io.twinserve.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.SpecKinds;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.capacity.CapacitySpec;
import io.twinserve.twin.cluster.ClusterSpec;
import io.twinserve.twin.deploy.DeploymentSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The spec kinds the "looks like another kind of spec" hint knows (listed by hand in the traces module, which cannot
 * see the other modules' records) are the records' own top-level keys, and the hint names the right kind.
 */
class SpecKindsTest {
    private static Set<String> keysOf(Class<?> type) {
        ObjectMapper m = WorkloadSpecs.configure(new ObjectMapper());
        Set<String> names = new TreeSet<>();
        for (var p :
                m.getDeserializationConfig().introspect(m.constructType(type)).findProperties()) {
            names.add(p.getName());
        }
        return names;
    }

    @Test
    void theListedKeysAreTheRecordsKeys() {
        for (Class<?> type : List.of(
                WorkloadSpec.class, DeploymentSpec.class, ClusterSpec.class, CapacitySpec.class, SweepSpec.class)) {
            assertThat(new TreeSet<>(SpecKinds.keys().get(SpecKinds.kindOf(type))))
                    .as(type.getSimpleName())
                    .isEqualTo(keysOf(type));
        }
    }

    @Test
    void aSweepSpecWithATypoIsNotTakenForAnotherKindAndAWorkloadGivenAsASweepIs() {
        String sweep = Sweeps.builtInText(Sweeps.TRAINING_GRID);
        assertThatThrownBy(() -> Sweeps.parse(sweep.replace("slots:", "slotz:"), Path.of("s.yaml")))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("slotz")
                .hasMessageNotContaining("looks like");
        assertThatThrownBy(() -> Sweeps.parse(
                        "name: w\nduration_s: 60\narrivals: {type: poisson, rate: 1}\nadapters: {count: 4}\n",
                        Path.of("w.yaml")))
                .isInstanceOf(SpecException.class)
                .hasMessageEndingWith(
                        "; the file looks like a workload spec (it has duration_s, arrivals, adapters), not a sweep"
                                + " spec");
    }
}
