package dev.keystone.app;

import dev.keystone.gateway.GatewayOptions;
import dev.keystone.config.ConfigException;
import dev.keystone.config.ConfigLoader;
import dev.keystone.config.GatewayConfig;
import dev.keystone.config.ListenAddress;
import dev.keystone.gateway.Gateway;
import dev.keystone.model.Tenant;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Command line: {@code run} (the default), {@code validate FILE}, {@code --version}. The
 * original's {@code -config FILE} and {@code -addr :PORT} flags keep working.
 */
public final class Main {

  private static final Logger LOG = Logger.getLogger("keystone.main");

  private Main() {
  }

  public static void main(String[] args) throws Exception {
    // Netty's buffer allocators define JFR events: the first allocation then loads and registers
    // them (40-70 ms of the first request after a start) and every allocation asks whether they
    // are on. Off unless asked for with -Dio.netty.jfr.enabled=true.
    if (System.getProperty("io.netty.jfr.enabled") == null) {
      System.setProperty("io.netty.jfr.enabled", "false");
    }
    if (args.length > 0 && args[0].equals("engine")) {
      System.exit(EngineCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length)));
    }
    if (args.length > 0 && args[0].equals("script")) {
      System.exit(ScriptCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
    }
    if (args.length > 0 && args[0].equals("config")) {
      System.exit(new ConfigCommand(System.out, System.err, System::getenv).run(java.util.Arrays.copyOfRange(args, 1, args.length)));
    }
    if (args.length > 0 && args[0].equals("keys")) {
      System.exit(new KeysCommand(System.out, System.err, System::getenv, java.time.Clock.systemUTC())
          .run(java.util.Arrays.copyOfRange(args, 1, args.length)));
    }
    if (args.length > 0 && args[0].equals("scripts")) {
      System.exit(new ScriptsCommand(System.out, System.err, System::getenv, new EntryTestRunner())
          .run(java.util.Arrays.copyOfRange(args, 1, args.length)));
    }
    if (args.length > 0 && AdminCommand.COMMANDS.containsKey(args[0])) {
      System.exit(new AdminCommand(System.out, System.err, System::getenv).run(args));
    }
    Cli cli;
    try {
      cli = Cli.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("keystone: " + e.getMessage());
      System.err.println(Cli.USAGE);
      System.exit(2);
      return;
    }
    switch (cli.command()) {
      case "help" -> System.out.println(Cli.USAGE);
      case "version" -> System.out.println("keystone " + version());
      case "validate" -> System.exit(validate(cli.configFile()));
      default -> run(cli);
    }
  }

  static String version() {
    String v = Main.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  static int validate(Path file) {
    try {
      var bootstrap = dev.keystone.config.StoreBootstrap.of(ConfigLoader.readFile(file), file, System::getenv);
      if (bootstrap != null) {
        try {
          dev.keystone.cluster.StoreUrl.parse(bootstrap.store());
        } catch (IllegalArgumentException e) {
          System.err.println(file + ":" + bootstrap.line() + ": config_store: " + e.getMessage());
          return 1;
        }
        System.out.println(file + ": OK, the config is in the store " + bootstrap.store()
            + " (check a config before it is pushed: keystone validate CONFIG)");
        return 0;
      }
      GatewayConfig c = new ConfigLoader().load(file);
      System.out.println(file + ": OK, " + c.tenants().size() + " tenant(s)" + unchecked(c.luaEngine()));
      return 0;
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      return 1;
    }
  }

  /**
   * What validate could not check about the scripts, said with its OK (attack round 5 on the Node
   * engine, N5-8: a plain OK read as if every lua_script had been checked): an engine that is not
   * Keystone's own decides what it serves, a remote engine holds its own scripts.
   */
  static String unchecked(dev.keystone.config.LuaEngineConfig engine) {
    if (!engine.enabled()) {
      return "";
    }
    var sup = engine.supervise();
    if (sup == null) {
      return "; the scripts are the engine's at " + engine.urls() + ": lua_script names are not checked here";
    }
    return sup.builtIn() || sup.scripts() == null ? ""
        : "; the engine " + sup.command() + " is not Keystone's own: a lua_script was only looked for as a file"
        + " (NAME, NAME.js, NAME.lua or NAME.py); the engine checks what it serves when it starts and at each reload";
  }

  private static void run(Cli cli) throws Exception {
    Logging.configure(System.out);
    Path file = cli.configFile();
    if (file == null && Files.exists(Path.of("config.yaml"))) {
      file = Path.of("config.yaml"); // the original's default
    }
    GatewayConfig config;
    DemoBackends demo = null;
    ConfigLoader loader = new ConfigLoader();
    String build = cli.configCache() ? dev.keystone.config.ConfigCache.buildOf(version()) : null;
    if (build != null) {
      loader = loader.withCache(new dev.keystone.config.ConfigCache(build));
    }
    byte[] content = null;
    GatewayOptions options = cli.admin() != null ? GatewayOptions.defaults(version()).withAdminListenGiven()
        : GatewayOptions.defaults(version());
    // Vert.x and Netty's event loops are made on another thread while this one reads the config
    // (0.1-0.2 s each for a small config; issue 14's start-up target).
    java.util.concurrent.CompletableFuture<io.vertx.core.Vertx> vertx = new java.util.concurrent.CompletableFuture<>();
    Thread maker = new Thread(() -> {
      try {
        vertx.complete(Gateway.newVertx(options.eventLoops()));
      } catch (Throwable t) {
        vertx.completeExceptionally(t);
      }
    }, "keystone-start");
    maker.setDaemon(true);
    maker.start();
    dev.keystone.gateway.StoreStart storeStart = null;
    try {
      dev.keystone.config.StoreBootstrap bootstrap = null;
      if (file != null) {
        content = ConfigLoader.readFile(file);
        bootstrap = dev.keystone.config.StoreBootstrap.of(content, file, System::getenv);
      }
      if (bootstrap != null || cli.configStore() != null) {
        storeStart = storeStart(cli, bootstrap, file, vertx);
        if (storeStart == null) {
          System.exit(1);
          return;
        }
        config = storeStart.config();
        file = null; // nothing on disk to watch: the store is
        content = null;
      } else if (file != null) {
        config = loader.parseFile(content, file);
      } else {
        demo = new DemoBackends();
        Map<String, String> ports = demo.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        config = new ConfigLoader(ports::get).parse(embeddedDefault(), "embedded default");
      }
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      System.exit(1);
      return;
    }
    if (cli.listen() != null) {
      config = config.withListen(ListenAddress.parse(cli.listen()));
    }
    if (cli.admin() != null) {
      config = config.withAdminListen(ListenAddress.parse(cli.admin()));
    }
    if (cli.tlsListen() != null) {
      if (!config.tls().enabled()) {
        System.err.println("keystone: --tls-listen: the config has no TLS listener (no tenant has tls, no tls_default)");
        System.exit(2);
        return;
      }
      config = config.withTlsListen(ListenAddress.parse(cli.tlsListen()));
    }
    Gateway gateway;
    try {
      gateway = (storeStart != null
          ? Gateway.start(vertx.get(30, TimeUnit.SECONDS), storeStart.withConfig(config), new ConfigLoader(), options)
          : Gateway.start(vertx.get(30, TimeUnit.SECONDS), config, file, content, loader, options))
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      System.err.println("keystone: cannot start: " + e.getCause().getMessage());
      System.exit(1);
      return;
    }
    printBanner(gateway, config, file);
    Signals.install(gateway, demo);
  }

  /**
   * Cluster mode: the config from the store ({@code --config-store}, or a file with
   * {@code config_store:}), else from its cache; null (after saying why) when there is neither.
   */
  private static dev.keystone.gateway.StoreStart storeStart(Cli cli, dev.keystone.config.StoreBootstrap bootstrap, Path file,
      java.util.concurrent.CompletableFuture<io.vertx.core.Vertx> vertx) throws Exception {
    String where = bootstrap != null ? file + ":" + bootstrap.line() + ": config_store" : "--config-store";
    dev.keystone.cluster.StoreUrl url;
    try {
      url = dev.keystone.cluster.StoreUrl.parse(bootstrap != null ? bootstrap.store() : cli.configStore());
    } catch (IllegalArgumentException e) {
      System.err.println("keystone: " + where + ": " + e.getMessage());
      return null;
    }
    Path cache = cli.storeCache() != null ? cli.storeCache()
        : bootstrap != null ? bootstrap.cache() : Path.of(dev.keystone.config.StoreBootstrap.DEFAULT_CACHE);
    try {
      return dev.keystone.gateway.StoreStart.load(vertx.get(30, TimeUnit.SECONDS), url, cache, new ConfigLoader());
    } catch (dev.keystone.gateway.StoreStart.Refused e) {
      System.err.println("keystone: " + e.getMessage());
      return null;
    }
  }

  private static void printBanner(Gateway gateway, GatewayConfig config, Path file) {
    String where = config.listen().host().equals("0.0.0.0") ? "localhost" : config.listen().host();
    int port = gateway.port();
    LOG.info("Keystone Gateway " + version() + " listening on " + config.listen().host() + ":" + port
        + " (" + (gateway.nativeTransport() ? "native epoll" : "NIO") + " transport, config: "
        + (gateway.configStore() != null ? gateway.configStore().store() + " revision " + gateway.configStore().revision()
            : file == null ? "embedded default" : file.toString()) + ")");
    if (config.tls().enabled()) {
      var names = gateway.certificates().names();
      LOG.info("TLS (" + dev.keystone.tls.TlsEngine.name() + ") listening on " + config.tls().listen().host() + ":" + gateway.tlsPort() + " with "
          + gateway.certificates().size() + " certificate(s) for " + (names.size() > 10
          ? names.subList(0, 10) + " and " + (names.size() - 10) + " more name(s)" : names)
          + (config.tls().fallback() == null ? "; other names fail the handshake" : "; tls_default for other names"));
    }
    var tenants = gateway.snapshot().tenants();
    int shown = 20; // a config with thousands of tenants should not print thousands of lines
    for (Tenant t : tenants.subList(0, Math.min(shown, tenants.size()))) {
      var c = t;
      String route = c.hasDomains() && c.hasPathPrefix() ? "hosts " + c.domains() + " + path " + c.pathPrefix()
          : c.hasDomains() ? "hosts " + c.domains() : "path " + c.pathPrefix();
      LOG.info("tenant " + c.name() + ": " + route + " -> " + c.pool().backends().size() + " backend(s)");
    }
    if (tenants.size() > shown) {
      LOG.info("... and " + (tenants.size() - shown) + " more tenant(s); GET " + config.adminBasePath().replaceAll("/$", "")
          + "/tenants lists them all");
    }
    String base = "http://" + where + ":" + port;
    String admin = config.adminBasePath().replaceAll("/$", "");
    var adminServer = gateway.admin();
    String dashboard = adminServer == null ? null
        : "http://" + (config.admin().listen().host().equals("0.0.0.0") ? "localhost" : config.admin().listen().host())
          + ":" + adminServer.port() + "/";
    if (file == null && gateway.configStore() == null) {
      Logging.flush(); // the log lines above first, then the hints
      System.out.println();
      System.out.println("Try it:");
      System.out.println("  curl " + base + "/web/hello             # path routing, round-robin blue/green");
      System.out.println("  curl -H 'Host: api.demo.localhost' " + base + "/users      # host routing");
      System.out.println("  curl -H 'Host: api.demo.localhost' " + base + "/v2/users   # host+path routing");
      System.out.println("  curl -H 'X-Canary: yes' " + base + "/canary/x          # a Lua routing script picks green");
      System.out.println("  curl " + base + admin + "/health                # health of every tenant");
      java.nio.file.Path ca = gateway.localCaFile();
      if (ca != null && config.tls().enabled()) {
        java.nio.file.Path cwd = java.nio.file.Path.of("").toAbsolutePath();
        String caPath = ca.toAbsolutePath().startsWith(cwd) ? cwd.relativize(ca.toAbsolutePath()).toString() : ca.toString();
        System.out.println("  curl --cacert " + caPath + " https://api.demo.localhost:" + gateway.tlsPort()
            + "/users   # HTTPS and HTTP/2, certificate from the local CA");
      }
      if (dashboard != null) {
        System.out.println();
        System.out.println("Dashboard: " + dashboard + (adminServer.tokenFile() != null
            ? "  (admin token: cat " + adminServer.tokenFile() + ")" : ""));
        System.out.println("  bin/keystone status                                # the same from a shell");
      }
      System.out.println();
    } else {
      LOG.info("health: curl " + base + admin + "/health ; reload: edit the file, kill -HUP <pid>, or curl -X POST "
          + base + admin + "/reload");
    }
  }

  static String embeddedDefault() throws IOException {
    try (InputStream in = Main.class.getResourceAsStream("/embedded-default.yaml")) {
      if (in == null) {
        throw new IOException("embedded-default.yaml missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
