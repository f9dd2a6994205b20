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
      usage: keystone config push FILE --store etcd://HOST:PORT[,HOST:PORT...]/PREFIX [--wait 5s]
             keystone config get --store etcd://...
        --store defaults to $KEYSTONE_CONFIG_STORE; push then waits up to --wait (0: not at all) for
        the registered instances to apply or refuse it, and exits 3 if one refused it
      """;

  private final PrintStream out;
  private final PrintStream err;
  private final Function<String, String> env;
  private long waitMillis = 5000;

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
      } else if (args[i].equals("--wait") && i + 1 < args.length) {
        try {
          waitMillis = dev.keystone.config.Units.duration(args[++i]).toMillis();
        } catch (IllegalArgumentException e) {
          return usage("--wait: a duration such as 5s, got '" + args[i] + "'");
        }
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
    java.util.List<String> inputs;
    try {
      yaml = Files.readString(file);
      inputs = new ConfigLoader(env::apply).inputsOf(file);
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
    if (!inputs.isEmpty()) {
      // checked here with this machine's: every instance reads them itself (attack s18-cluster F4)
      err.println("note: this config reads " + String.join(", ", inputs) + ": every instance must have the same,"
          + " or it refuses this revision and keeps serving its last");
    }
    return waitMillis <= 0 ? 0 : outcome(configs, url, revision);
  }

  /**
   * Waits up to --wait for the registered instances to report the revision: applied, or refused
   * with the reason. Exit 3 when one refused it (the cluster serves two configs until fixed).
   */
  private int outcome(ConfigStore configs, StoreUrl url, long revision) {
    long deadline = System.nanoTime() + waitMillis * 1_000_000;
    java.util.List<io.vertx.core.json.JsonObject> last = java.util.List.of();
    while (true) {
      java.util.List<io.vertx.core.json.JsonObject> now = await(configs.instances());
      if (now == null) {
        return 0; // pushed; the instances could not be read (said by await)
      }
      last = now;
      long done = now.stream().filter(i -> num(i, "config_revision") >= revision
          || num(i, "refused_revision") == revision).count();
      if (done == now.size() || System.nanoTime() > deadline) {
        break;
      }
      try {
        Thread.sleep(200); // a CLI waiting on other processes: a poll, not a test
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (last.isEmpty()) {
      err.println("# no instance is registered under " + url.instancesPrefix() + " (yet)");
      return 0;
    }
    int refused = 0;
    int applied = 0;
    for (io.vertx.core.json.JsonObject i : last) {
      String id = i.getString("id", "?");
      if (num(i, "config_revision") >= revision) {
        applied++;
      } else if (num(i, "refused_revision") == revision) {
        refused++;
        err.println("  " + id + " refused it: " + (i.getValue("refusal") instanceof String r ? r : "(no reason given)"));
      } else {
        err.println("  " + id + " has not reported it yet (serving revision " + num(i, "config_revision") + ")");
      }
    }
    out.println("applied by " + applied + " of " + last.size() + " instance(s)" + (refused > 0 ? ", refused by " + refused : ""));
    return refused > 0 ? 3 : 0;
  }

  /** A number field of an instance's entry (0 when absent or null). */
  private static long num(io.vertx.core.json.JsonObject j, String key) {
    return j.getValue(key) instanceof Number n ? n.longValue() : 0;
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
      err.println("keystone config: etcd did not answer: " + (c instanceof java.util.concurrent.TimeoutException
          || c.getMessage() == null ? "no answer within 15 s" : c.getMessage()));
      return null;
    }
  }

  private int usage(String problem) {
    err.println("keystone config: " + problem);
    err.print(USAGE);
    return 2;
  }
}
