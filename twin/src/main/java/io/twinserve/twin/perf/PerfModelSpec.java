package io.twinserve.twin.perf;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/** Which performance model a deployment uses, and with which calibration. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
  @JsonSubTypes.Type(value = PerfModelSpec.Roofline.class, name = "roofline"),
})
public sealed interface PerfModelSpec {

  /** The calibration: a built-in name (engine-gpu/model) or a calibration file; null for defaults. */
  String calibration();

  /** The roofline model. */
  record Roofline(String calibration) implements PerfModelSpec {}
}
