package dev.keystone.config;

import java.nio.file.Path;

/**
 * A config file that points at a cluster's store instead of holding a config:
 * <pre>
 * config_store: etcd://10.0.0.5:2379,10.0.0.6:2379/keystone
 * config_cache: keystone-data/config-cache.json   # optional; relative to this file
 * </pre>
 * Every instance of the cluster starts with such a file (or {@code --config-store}); the config
 * itself is pushed to the store with {@code keystone config push}. {@code ${VAR}} works in both.
 *
 * @param store the store URL as written (the caller parses it, naming this file and line)
 * @param line  the line of {@code config_store}
 * @param cache where the last applied config is cached for a start while the store is down
 */
public record StoreBootstrap(String store, int line, Path cache) {

  public static final String DEFAULT_CACHE = "keystone-data/config-cache.json";

  /**
   * The bootstrap in {@code content} (read from {@code file}), or null when the file is a config
   * of its own (has no top-level {@code config_store}).
   */
  public static StoreBootstrap of(byte[] content, Path file, java.util.function.Function<String, String> env)
      throws ConfigException {
    String text = ConfigText.decode(content, file);
    YamlNode root = YamlSubset.read(text);
    Problems problems = new Problems(file.toString(), new ConfigInputs(env));
    if (root == null) {
      root = new YamlReader(file.toString(), problems.errors).read(text);
    }
    if (!(root instanceof YamlNode.Mapping m) || !m.entries().containsKey("config_store")) {
      return null; // an ordinary config (or one whose errors the config's own parse reports)
    }
    problems.root(m);
    Section s = new Section(m, "", problems, new Interpolator(problems.inputs::env));
    String store = s.string("config_store", null);
    String cache = s.string("config_cache", DEFAULT_CACHE);
    for (String key : m.entries().keySet()) {
      if (!key.equals("config_store") && !key.equals("config_cache")) {
        problems.add(key, "a file with config_store holds no config of its own (it is in the store: keystone config push);"
            + " only config_store and config_cache belong here");
      }
    }
    if ((store == null || store.isBlank()) && problems.errors.isEmpty()) {
      problems.add("config_store", "a store such as etcd://127.0.0.1:2379/keystone");
    }
    if (!problems.errors.isEmpty()) {
      throw new ConfigException(problems.errors);
    }
    Path base = ScriptFiles.baseDir(file.toString(), problems.inputs);
    return new StoreBootstrap(store, problems.lineOf("config_store"), base.resolve(cache).normalize());
  }
}
