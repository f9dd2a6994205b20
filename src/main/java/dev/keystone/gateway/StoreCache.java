package dev.keystone.gateway;

import dev.keystone.cluster.StoreUrl;
import dev.keystone.config.PrivateFiles;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The last config a gateway applied from its store, on disk: a gateway started while etcd is down
 * starts from it. Written whole (a new file renamed over the old, mode 0600) after each applied
 * change; it names the store's config key, so a cache written for another cluster is not used.
 */
final class StoreCache {

  /** A cached config: its YAML, the store revision it had, and the cluster's drain keys then. */
  record Cached(String yaml, long revision, java.util.List<String> drains, java.util.Map<String, String> apiKeys) {
  }

  private final Path file;
  private final StoreUrl url;

  StoreCache(Path file, StoreUrl url) {
    this.file = file;
    this.url = url;
  }

  Path file() {
    return file;
  }

  /** The cached config, or null when there is none (or it is for another store, or unreadable: said in {@code why}). */
  Cached read(StringBuilder why) {
    if (!Files.isRegularFile(file)) {
      why.append("no cached config at ").append(file);
      return null;
    }
    try {
      if (Files.size(file) > dev.keystone.config.ConfigLoader.maxFileSize() * 2) {
        why.append(file).append(" is larger than a cached config can be");
        return null;
      }
      JsonObject j = new JsonObject(Files.readString(file, StandardCharsets.UTF_8));
      if (!url.configKey().equals(j.getString("key")) || !(j.getValue("revision") instanceof Number)
          || !(j.getValue("yaml") instanceof String)) {
        why.append(file).append(" is not a cached config of ").append(url.configKey());
        return null;
      }
      java.util.List<String> drains = new java.util.ArrayList<>();
      for (Object d : j.getJsonArray("drains", new io.vertx.core.json.JsonArray())) {
        if (d instanceof String k && url.drainOf(k) != null) {
          drains.add(k);
        }
      }
      java.util.Map<String, String> keys = new java.util.TreeMap<>();
      JsonObject k = j.getJsonObject("api_keys", new JsonObject());
      for (String name : k.fieldNames()) {
        if (url.isApiKey(name) && k.getValue(name) instanceof String v) {
          keys.put(name, v);
        }
      }
      return new Cached(j.getString("yaml"), j.getLong("revision"), java.util.List.copyOf(drains), java.util.Map.copyOf(keys));
    } catch (IOException | DecodeException | ClassCastException e) {
      why.append("cannot read ").append(file).append(": ").append(e.getMessage());
      return null;
    }
  }

  void write(String yaml, long revision, java.util.Collection<String> drains, java.util.Map<String, String> apiKeys)
      throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    JsonObject j = new JsonObject().put("store", url.toString()).put("key", url.configKey()).put("revision", revision)
        .put("yaml", yaml).put("drains", new io.vertx.core.json.JsonArray(new java.util.ArrayList<>(drains)))
        .put("api_keys", new JsonObject(new java.util.TreeMap<String, Object>(apiKeys)));
    PrivateFiles.replace(file.toAbsolutePath(), j.encodePrettily().getBytes(StandardCharsets.UTF_8));
  }
}
