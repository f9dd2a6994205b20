package dev.keystone.app;

import java.nio.file.Path;

/**
 * Parsed command line.
 *
 * @param command    run, validate, version or help
 * @param configFile the config file, or null for the default
 * @param listen     listen address override, or null
 * @param admin      admin listener address override, or null
 * @param tlsListen  TLS listener address override, or null
 * @param configCache false with --no-config-cache
 * @param configStore cluster mode: the store to follow ({@code --config-store}), or null
 * @param storeCache  where a store's config is cached ({@code --config-cache}), or null for the default
 */
record Cli(String command, Path configFile, String listen, String admin, boolean configCache, String tlsListen,
           String configStore, Path storeCache) {

  static final String USAGE = """
      usage: keystone [run] [--config FILE] [--listen ADDR] [--tls-listen ADDR] [--admin ADDR] [--no-config-cache]
             keystone [run] --config-store etcd://HOST:PORT[,HOST:PORT]/PREFIX [--config-cache FILE] [--listen ...]
             keystone validate FILE
             keystone status | reload | backends drain|undrain NAME   (keystone status --help)
             keystone script test SCRIPT --request 'GET /path' [-H 'Name: value'] [--backends FILE]
             keystone engine [--scripts DIR] [--listen ADDR]
             keystone rollout start|status|pause|resume|abort|promote TENANT ...   (docs/rollouts.md)
             keystone scripts search|show|add|update|remove|verify ...          (keystone scripts --help)
             keystone config push FILE | get --store etcd://HOST:PORT/PREFIX      (a cluster's config in etcd)
             keystone keys create NAME --tenant T | revoke NAME | list  --file F | --store URL   (API keys)
             keystone --version

        run        start the gateway (the default). Without --config it uses ./config.yaml
                   if present, else an embedded demo config with two built-in backends.
        validate   check a config file; prints every error with file, line and key; exit 1 if any
        script     run a routing script once and print its decision (see docs/scripting.md)
        engine     run the script engine as its own process (see docs/engine-protocol.md)
        --config   config file (also -config, as in the original)
        --config-store
                   cluster mode: follow the config pushed to etcd with keystone config push
                   (docs/cluster.md); a config file with only config_store: URL does the same
        --config-cache
                   where the last config applied from the store is kept, for a start while etcd
                   is down (default keystone-data/config-cache.json)
        --listen   listen address such as :8080 or 127.0.0.1:8080 (also -addr)
        --tls-listen
                   the TLS listener's address (tls_listen), for a config that has one
        --admin    admin API and dashboard address (default 127.0.0.1:9901; see docs/admin-api.md)
        --no-config-cache
                   parse the config file at every start; by default its parsed form is kept
                   beside it (.FILE.keystone-cache) and reused while the file, the environment
                   variables and the files it reads are unchanged (docs/configuration.md)
        status, reload, backends
                   ask a running gateway through its admin API (see docs/admin-api.md)
      """;

  static Cli parse(String[] args) {
    String command = "run";
    Path config = null;
    String listen = null;
    String admin = null;
    String tlsListen = null;
    boolean cache = true;
    String store = null;
    Path storeCache = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "run" -> command = "run";
        case "validate" -> {
          command = "validate";
          if (i + 1 < args.length && !args[i + 1].startsWith("-")) {
            config = Path.of(args[++i]);
          }
        }
        case "--version", "-version", "version" -> command = "version";
        case "--help", "-help", "-h", "help" -> command = "help";
        case "--config", "-config", "-c" -> config = Path.of(value(args, ++i, a));
        case "--listen", "-listen", "--addr", "-addr" -> listen = value(args, ++i, a);
        case "--admin" -> admin = value(args, ++i, a);
        case "--tls-listen" -> tlsListen = value(args, ++i, a);
        case "--no-config-cache" -> cache = false;
        case "--config-store" -> store = value(args, ++i, a);
        case "--config-cache" -> storeCache = Path.of(value(args, ++i, a));
        default -> {
          if (a.startsWith("--config=") || a.startsWith("-config=")) {
            config = Path.of(a.substring(a.indexOf('=') + 1));
          } else if (a.startsWith("--listen=") || a.startsWith("-addr=")) {
            listen = a.substring(a.indexOf('=') + 1);
          } else if (a.startsWith("--tls-listen=")) {
            tlsListen = a.substring(a.indexOf('=') + 1);
          } else if (a.startsWith("--config-store=")) {
            store = a.substring(a.indexOf('=') + 1);
          } else if (a.startsWith("--config-cache=")) {
            storeCache = Path.of(a.substring(a.indexOf('=') + 1));
          } else if (a.startsWith("--admin=")) {
            admin = a.substring(a.indexOf('=') + 1);
          } else {
            throw new IllegalArgumentException("unknown argument '" + a + "'");
          }
        }
      }
    }
    if (command.equals("validate") && config == null) {
      throw new IllegalArgumentException("validate needs a FILE");
    }
    if (store != null && config != null && !command.equals("validate")) {
      throw new IllegalArgumentException("--config-store and --config: the config comes from one or the other");
    }
    return new Cli(command, config, listen, admin, cache, tlsListen, store, storeCache);
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args[i];
  }
}
