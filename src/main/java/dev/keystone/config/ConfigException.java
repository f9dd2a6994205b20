package dev.keystone.config;

import java.util.List;
import java.util.stream.Collectors;

/** Thrown when a configuration has errors; carries all of them, not just the first. */
public final class ConfigException extends Exception {

  private final List<ConfigError> errors;

  public ConfigException(List<ConfigError> errors) {
    super(errors.size() + " configuration error(s):\n  "
        + errors.stream().map(ConfigError::toString).collect(Collectors.joining("\n  ")));
    this.errors = List.copyOf(errors);
  }

  public List<ConfigError> errors() {
    return errors;
  }
}
