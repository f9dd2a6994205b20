package dev.keystone.testing;

import dev.keystone.gateway.GatewayOptions;
import dev.keystone.config.ConfigLoader;
import dev.keystone.config.GatewayConfig;
import dev.keystone.gateway.Gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Clock;

/**
 * The real gateway, in this JVM, on an ephemeral loopback port, started from YAML text written
 * to a temporary file (so reload-from-file works as in production).
 */
public final class TestGateway implements AutoCloseable {

  private final Path file;
  private final Gateway gateway;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  private Path tempDir;

  private TestGateway(Path file, Gateway gateway) {
    this.file = file;
    this.gateway = gateway;
  }

  /** Starts on {@code yaml}; a {@code listen:} line is added when the YAML has none. */
  public static TestGateway start(String yaml) {
    return start(yaml, java.util.Map.of());
  }

  /** The same, with {@code scripts} (name to Lua source) written to {@code scripts/NAME.lua} first. */
  public static TestGateway start(String yaml, java.util.Map<String, String> scripts) {
    return start(yaml, scripts, new GatewayOptions(2, "test", Clock.systemUTC()));
  }

  /** The same, with {@code options} (a test clock, seeded randomness for scripts). */
  public static TestGateway start(String yaml, java.util.Map<String, String> scripts, GatewayOptions options) {
    try {
      Path dir = Files.createTempDirectory("keystone-test");
      Files.createDirectories(dir.resolve("scripts"));
      for (java.util.Map.Entry<String, String> s : scripts.entrySet()) {
        Files.writeString(dir.resolve("scripts").resolve(s.getKey() + ".lua"), s.getValue());
      }
      Path file = dir.resolve("config.yaml");
      Files.writeString(file, withTestListeners(yaml));
      ConfigLoader loader = new ConfigLoader();
      GatewayConfig config = loader.load(file);
      Gateway g = Await.result(Gateway.start(config, file, loader, options));
      TestGateway gw = new TestGateway(file, g);
      gw.tempDir = dir; // made here: removed on close
      return gw;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new AssertionError("gateway did not start: " + e, e);
    }
  }

  /**
   * Ephemeral loopback ports for the proxy and the admin listener unless the YAML picks them (a
   * default admin port would collide between tests).
   */
  public static String withTestListeners(String yaml) {
    String text = java.util.regex.Pattern.compile("(?m)^listen:").matcher(yaml).find() ? yaml : "listen: 127.0.0.1:0\n" + yaml;
    // Appended, so that line numbers in error messages stay as the test wrote them (+1 for listen).
    return java.util.regex.Pattern.compile("(?m)^admin:").matcher(yaml).find() ? text
        : text + (text.endsWith("\n") ? "" : "\n") + "admin:\n  listen: 127.0.0.1:0\n  token: " + ADMIN_TOKEN + "\n";
  }

  /**
   * Starts on an existing config file (an example), read with {@code env} for its ${VARS} and
   * listening on an ephemeral loopback port whatever the file says.
   */
  public static TestGateway startFile(Path file, java.util.Map<String, String> env, GatewayOptions options) {
    try {
      ConfigLoader loader = new ConfigLoader(env::get);
      GatewayConfig config = loader.load(file).withListen(dev.keystone.config.ListenAddress.parse("127.0.0.1:0"))
          .withAdminListen(dev.keystone.config.ListenAddress.parse("127.0.0.1:0"));
      return new TestGateway(file, Await.result(Gateway.start(config, file, loader, options)));
    } catch (Exception e) {
      throw new AssertionError("gateway did not start on " + file + ": " + e, e);
    }
  }

  /**
   * Cluster mode: a gateway on the config stored under {@code store} (the config must pick its
   * listeners, such as 127.0.0.1:0, and the admin token {@link #ADMIN_TOKEN}); its cache in {@code cache}.
   */
  public static TestGateway startOnStore(String store, Path cache) {
    try {
      io.vertx.core.Vertx v = Gateway.newVertx(1);
      dev.keystone.gateway.StoreStart s = dev.keystone.gateway.StoreStart.load(v, dev.keystone.cluster.StoreUrl.parse(store), cache,
          new ConfigLoader());
      return new TestGateway(null, Await.result(Gateway.start(v, s, new ConfigLoader(),
          new GatewayOptions(1, "test", java.time.Clock.systemUTC()))));
    } catch (Exception e) {
      throw new AssertionError("gateway did not start on " + store + ": " + e, e);
    }
  }

  public Gateway gateway() {
    return gateway;
  }

  public int port() {
    return gateway.port();
  }

  public String base() {
    return "http://127.0.0.1:" + port();
  }

  /** Writes (or replaces) {@code scripts/NAME.lua} next to the config file; reload to apply. */
  public void writeScript(String name, String source) {
    try {
      Files.writeString(file.resolveSibling("scripts").resolve(name + ".lua"), source);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Path file() {
    return file;
  }

  /** Rewrites the config file (a reload happens through the watcher or {@link Gateway#reloadFromFile}). */
  public void rewrite(String yaml) {
    try {
      Files.writeString(file, withTestListeners(yaml));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The admin token of gateways whose YAML has no admin block. */
  public static final String ADMIN_TOKEN = "test-admin-token-0123456789";

  /** The admin listener's base URL. */
  public String adminBase() {
    return "http://127.0.0.1:" + gateway.admin().port();
  }

  /** Calls the admin API with {@link #ADMIN_TOKEN}. */
  public HttpResponse<String> admin(String method, String path) {
    return send(HttpRequest.newBuilder(URI.create(adminBase() + path)).method(method, HttpRequest.BodyPublishers.noBody()),
        "Authorization", "Bearer " + ADMIN_TOKEN);
  }

  public HttpResponse<String> get(String path, String... headers) {
    return send(HttpRequest.newBuilder(URI.create(base() + path)).GET(), headers);
  }

  public HttpResponse<String> send(HttpRequest.Builder builder, String... headers) {
    for (int i = 0; i + 1 < headers.length; i += 2) {
      builder.header(headers[i], headers[i + 1]);
    }
    try {
      return http.send(builder.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** A new client (so a new connection) for HTTP/1.1 requests. */
  public static HttpClient plainClient() {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
  }

  public HttpClient http() {
    return http;
  }

  /** A WebSocket through the gateway to {@code path}; closed with {@code vertx}. */
  public io.vertx.core.http.WebSocket webSocket(io.vertx.core.Vertx vertx, String path) {
    // Keep the client reachable: Vert.x closes a client that is garbage-collected, and a GC
    // during the handshake then closed the connection ("Connection closed while handshake").
    io.vertx.core.http.WebSocketClient client = vertx.createWebSocketClient();
    webSocketClients.add(client);
    return Await.result(client.connect(new io.vertx.core.http.WebSocketConnectOptions()
        .setHost("127.0.0.1").setPort(port()).setURI(path)));
  }

  private final java.util.List<io.vertx.core.http.WebSocketClient> webSocketClients =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  /** A raw socket to the gateway, for requests no well-behaved client would send. */
  public RawHttp raw() {
    return new RawHttp("127.0.0.1", port());
  }

  /** A raw socket with a small receive buffer, for a client that does not read. */
  public RawHttp raw(int receiveBuffer) {
    return new RawHttp("127.0.0.1", port(), receiveBuffer);
  }

  @Override
  public void close() {
    Await.result(gateway.close());
    if (tempDir != null) {
      try (java.util.stream.Stream<Path> files = Files.walk(tempDir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (IOException e) {
        // a leftover temporary directory is not a test failure
      }
    }
  }
}
