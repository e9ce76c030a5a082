/** Deployment and replica configuration (YAML, snake_case) and their resolution against profiles and calibrations. */
package io.twinserve.twin.deploy;
