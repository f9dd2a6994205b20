package dev.keystone.app;

import dev.keystone.cluster.EtcdClient;
import dev.keystone.cluster.KeysStore;
import dev.keystone.cluster.StoreUrl;
import dev.keystone.config.KeysFile;
import dev.keystone.model.ApiKey;
import dev.keystone.policy.ApiKeyCodec;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * {@code keystone keys create|revoke|list}: API keys in a keys file ({@code api_keys_file}) or in
 * a cluster's store. A new key is printed once and kept only as its SHA-256. Exit codes: 0 done,
 * 1 refused, 2 bad usage.
 */
final class KeysCommand {

  static final String USAGE = """
      usage: keystone keys create NAME --tenant TENANT [--tenant ...] [--scope SCOPE ...] [--expires 90d] WHERE
             keystone keys revoke NAME WHERE
             keystone keys list WHERE
        WHERE is --file FILE (the config's api_keys_file) or --store etcd://HOST:PORT/PREFIX
        (a cluster; defaults to $KEYSTONE_CONFIG_STORE). --tenant '*' opens every tenant.
      """;

  private final PrintStream out;
  private final PrintStream err;
  private final Function<String, String> env;
  private final Clock clock;

  KeysCommand(PrintStream out, PrintStream err, Function<String, String> env, Clock clock) {
    this.out = out;
    this.err = err;
    this.env = env;
    this.clock = clock;
  }

  int run(String[] args) {
    String store = null;
    Path file = null;
    Set<String> tenants = new LinkedHashSet<>();
    Set<String> scopes = new LinkedHashSet<>();
    Instant expires = null;
    List<String> rest = new ArrayList<>();
    try {
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--store" -> store = value(args, ++i, a);
          case "--file" -> file = Path.of(value(args, ++i, a));
          case "--tenant" -> {
            String t = value(args, ++i, a);
            if (t.isEmpty() || t.chars().anyMatch(Character::isISOControl)) {
              return usage("--tenant: a tenant's name, no control characters");
            }
            tenants.add(t);
          }
          case "--scope" -> {
            String s = value(args, ++i, a);
            if (!ApiKeyCodec.validScope(s)) {
              return usage("--scope: letters, digits and . _ : / - (such as orders:read), got '" + s + "'");
            }
            scopes.add(s);
          }
          case "--expires" -> {
            java.time.Duration d = dev.keystone.config.Units.duration(value(args, ++i, a));
            if (d.isNegative() || d.isZero() || d.compareTo(ApiKeyCodec.MAX_LIFETIME) > 0) {
              return usage("--expires: a duration such as 90d, at most 3653d");
            }
            expires = clock.instant().plus(d);
          }
          default -> {
            if (a.startsWith("--")) {
              return usage("unknown option " + a);
            }
            rest.add(a);
          }
        }
      }
    } catch (IllegalArgumentException e) {
      return usage(e.getMessage());
    }
    if (store == null && file == null) {
      store = env.apply("KEYSTONE_CONFIG_STORE");
    }
    if ((store == null) == (file == null)) {
      return usage("say where the keys are: --file FILE or --store etcd://... (one of them)");
    }
    String command = rest.isEmpty() ? "" : rest.get(0);
    boolean named = rest.size() == 2 && (command.equals("create") || command.equals("revoke"));
    if (!named && !(rest.size() == 1 && command.equals("list"))) {
      return usage("expected create NAME, revoke NAME or list");
    }
    String name = named ? rest.get(1) : null;
    if (name != null && !ApiKeyCodec.NAME.matcher(name).matches()) {
      return usage("a key's name is 1-64 letters, digits, '.', '_' or '-', got '" + name + "'");
    }
    if (command.equals("create") && tenants.isEmpty()) {
      return usage("create needs --tenant TENANT (or --tenant '*')");
    }
    String key = command.equals("create") ? ApiKeyCodec.newKey() : null;
    ApiKey made = key == null ? null
        : new ApiKey(name, ApiKeyCodec.sha256(key), tenants, scopes, clock.instant(), expires);
    if (file != null) {
      return onFile(command, file, name, made, key);
    }
    StoreUrl url;
    try {
      url = StoreUrl.parse(store);
    } catch (IllegalArgumentException e) {
      return usage(e.getMessage());
    }
    Vertx vertx = Vertx.vertx();
    try (EtcdClient etcd = new EtcdClient(vertx, url.endpoints())) {
      KeysStore keys = new KeysStore(etcd, url);
      return switch (command) {
        case "create" -> created(await(keys.add(made)), name, key, url.keysPrefix() + name);
        case "revoke" -> revoked(await(keys.remove(name)), name);
        default -> listed(await(keys.list()));
      };
    } catch (Exception e) {
      Throwable c = e.getCause() != null ? e.getCause() : e;
      err.println("keystone keys: etcd did not answer: " + c.getMessage());
      return 1;
    } finally {
      vertx.close();
    }
  }

  private int onFile(String command, Path file, String name, ApiKey made, String key) {
    try {
      return switch (command) {
        case "create" -> created(KeysFile.add(file, made), name, key, file.toString());
        case "revoke" -> revoked(KeysFile.remove(file, name), name);
        default -> listed(KeysFile.list(file));
      };
    } catch (Exception e) {
      err.println("keystone keys: " + file + ": " + e.getMessage());
      return 1;
    }
  }

  private int created(boolean added, String name, String key, String where) {
    if (!added) {
      err.println("keystone keys: a key named " + name + " exists; revoke it first or choose another name");
      return 1;
    }
    out.println(key);
    err.println("# the key " + name + " (above) is shown only now: keep it. Stored as its SHA-256 in " + where);
    return 0;
  }

  private int revoked(boolean removed, String name) {
    if (!removed) {
      err.println("keystone keys: no key named " + name);
      return 1;
    }
    out.println("revoked " + name);
    return 0;
  }

  private int listed(List<ApiKey> keys) {
    for (ApiKey k : keys.stream().sorted(java.util.Comparator.comparing(ApiKey::name)).toList()) {
      out.println(k.name() + "  tenants=" + String.join(",", k.tenants().stream().sorted().toList())
          + "  scopes=" + String.join(",", k.scopes().stream().sorted().toList())
          + "  created=" + k.created() + (k.expires() == null ? "" : "  expires=" + k.expires()));
    }
    return 0;
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args[i];
  }

  private int usage(String problem) {
    err.println("keystone keys: " + problem);
    err.print(USAGE);
    return 2;
  }
}
