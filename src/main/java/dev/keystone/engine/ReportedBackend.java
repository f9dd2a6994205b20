package dev.keystone.engine;

import dev.keystone.script.BackendView;

import java.net.URI;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A backend as an engine is told about it (the gateway's {@code backends} list, or a file for
 * {@code keystone script test}): the engine has no pool or health of its own, only what it was
 * told.
 *
 * @throws IllegalArgumentException when the URL cannot be parsed
 */
public record ReportedBackend(String name, String url, int weight, Map<String, String> labels, boolean healthy)
    implements BackendView {

  public ReportedBackend {
    URI.create(url);
    labels = Collections.unmodifiableMap(new LinkedHashMap<>(labels));
  }
}
