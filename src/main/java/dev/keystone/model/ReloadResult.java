package dev.keystone.model;

import java.util.List;

/**
 * What a reload did.
 *
 * @param applied whether the new config is now serving
 * @param version the config version serving after the attempt
 * @param errors  why it was rejected (file:line: key: message), empty when applied
 */
public record ReloadResult(boolean applied, long version, List<String> errors) {

  public ReloadResult {
    errors = List.copyOf(errors);
  }
}
