/** Hardware and model facts as data: GPU and model profiles from YAML files and Hugging Face config.json. */
package io.twinserve.twin.profile;
