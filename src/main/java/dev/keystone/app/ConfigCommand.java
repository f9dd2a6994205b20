package dev.keystone.app;

import dev.keystone.cluster.ConfigStore;
import dev.keystone.cluster.EtcdClient;
import dev.keystone.cluster.StoreUrl;
import dev.keystone.config.ConfigError;
import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * {@code keystone config push FILE --store etcd://...} and {@code keystone config get --store ...}:
 * a cluster's config in etcd. A push validates the file exactly as a gateway loads it (every error
 * listed, nothing written when there is one), then writes it in a transaction on the revision it
 * read, so that two pushes cannot interleave. Exit codes: 0 done, 1 refused, 2 bad usage.
 */
final class ConfigCommand {

  static final String USAGE = """
      usage: keystone config push FILE --store etcd://HOST:PORT[,HOST:PORT...]/PREFIX
             keystone config get --store etcd://...
        --store defaults to $KEYSTONE_CONFIG_STORE
      """;

  private final PrintStream out;
  private final PrintStream err;
  private final Function<String, String> env;

  ConfigCommand(PrintStream out, PrintStream err, Function<String, String> env) {
    this.out = out;
    this.err = err;
    this.env = env;
  }

  int run(String[] args) {
    String store = env.apply("KEYSTONE_CONFIG_STORE");
    java.util.List<String> rest = new java.util.ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--store") && i + 1 < args.length) {
        store = args[++i];
      } else {
        rest.add(args[i]);
      }
    }
    StoreUrl url;
    try {
      url = StoreUrl.parse(store);
    } catch (IllegalArgumentException e) {
      return usage(e.getMessage());
    }
    boolean push = rest.size() == 2 && rest.get(0).equals("push");
    boolean get = rest.size() == 1 && rest.get(0).equals("get");
    if (!push && !get) {
      return usage("expected push FILE or get");
    }
    Vertx vertx = Vertx.vertx();
    try (EtcdClient etcd = new EtcdClient(vertx, url.endpoints())) {
      ConfigStore configs = new ConfigStore(etcd, url);
      return push ? push(configs, url, Path.of(rest.get(1))) : get(configs, url);
    } finally {
      vertx.close();
    }
  }

  private int push(ConfigStore configs, StoreUrl url, Path file) {
    String yaml;
    try {
      yaml = Files.readString(file);
      new ConfigLoader(env::apply).load(file);
    } catch (ConfigException e) {
      err.println("keystone config push: " + file + " is not valid; nothing was written:");
      for (ConfigError error : e.errors()) {
        err.println("  " + error);
      }
      return 1;
    } catch (IOException e) {
      err.println("keystone config push: cannot read " + file + ": " + e.getMessage());
      return 1;
    }
    ConfigStore.Stored before = await(configs.get());
    if (before == null) {
      return 1;
    }
    Long revision = await(configs.push(yaml, before.modRevision()));
    if (revision == null) {
      return 1;
    }
    if (revision < 0) {
      err.println("keystone config push: the config in " + url.configKey() + " changed while this push read it"
          + " (another push?): nothing was written; push again");
      return 1;
    }
    out.println("pushed " + file + " to " + url.configKey() + ": revision " + revision
        + (before.exists() ? " (was " + before.modRevision() + ")" : " (the first)"));
    return 0;
  }

  private int get(ConfigStore configs, StoreUrl url) {
    ConfigStore.Stored s = await(configs.get());
    if (s == null) {
      return 1;
    }
    if (!s.exists()) {
      err.println("keystone config get: no config in " + url.configKey());
      return 1;
    }
    out.print(s.yaml());
    if (!s.yaml().endsWith("\n")) {
      out.println();
    }
    err.println("# " + url.configKey() + " at revision " + s.modRevision());
    return 0;
  }

  private <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    } catch (Exception e) {
      Throwable c = e.getCause() != null ? e.getCause() : e;
      err.println("keystone config: etcd did not answer: " + c.getMessage());
      return null;
    }
  }

  private int usage(String problem) {
    err.println("keystone config: " + problem);
    err.print(USAGE);
    return 2;
  }
}
