package dev.keystone.gateway;

import dev.keystone.config.GatewayConfig;

import java.nio.file.Path;

/**
 * Where rollouts are kept: {@code rollouts.json} in the data directory (the {@code acme} block's
 * {@code data_dir}, by default {@code keystone-data} beside the config file, or in the working
 * directory on the embedded default), taken at start.
 */
final class RolloutFiles {

  private RolloutFiles() {
  }

  static Path of(GatewayConfig config, Path configFile) {
    if (config.tls().acme() != null) {
      return config.tls().acme().dataDir().resolve("rollouts.json");
    }
    Path base = configFile == null ? Path.of("") : configFile.toAbsolutePath().getParent();
    return base.resolve("keystone-data").resolve("rollouts.json").toAbsolutePath();
  }
}
