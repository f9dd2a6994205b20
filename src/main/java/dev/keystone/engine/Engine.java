package dev.keystone.engine;

import dev.keystone.script.ScriptEnvironment;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.SocketAddress;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * A script engine as its own process ({@code keystone engine --scripts DIR --listen ADDR}): it
 * serves the tenants' routing scripts over the small HTTP protocol of docs/engine-protocol.md,
 * so a crash, leak or exploit in script execution cannot touch the gateway.
 */
public final class Engine {

  private static final Logger LOG = Logger.getLogger("keystone.engine");

  private final Vertx vertx;
  private final Path dir;
  private final SocketAddress address;
  private final ScriptEnvironment environment;
  private final AtomicReference<ScriptLibrary> library = new AtomicReference<>();
  private final List<EngineServer> servers = new CopyOnWriteArrayList<>();
  private volatile boolean warm;

  private Engine(Vertx vertx, Path dir, SocketAddress address, ScriptEnvironment environment, ScriptLibrary first) {
    this.vertx = vertx;
    this.dir = dir;
    this.address = address;
    this.environment = environment;
    this.library.set(first);
  }

  /**
   * Loads every script in {@code dir} (failing on the first compile error, with all errors
   * listed) and starts listening on {@code address}, one server per event loop.
   */
  public static Future<Engine> start(Path dir, SocketAddress address, int eventLoops) {
    ScriptLibrary first;
    try {
      first = ScriptLibrary.load(dir, 1);
    } catch (ScriptLibrary.LoadException e) {
      return Future.failedFuture(e);
    }
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(eventLoops).setPreferNativeTransport(true));
    Engine engine = new Engine(vertx, dir, address, ScriptEnvironment.system(Clock.systemUTC()), first);
    return vertx.deployVerticle(() -> {
          EngineServer s = new EngineServer(engine);
          engine.servers.add(s);
          return s;
        }, new DeploymentOptions().setInstances(eventLoops))
        .compose(id -> engine.warmUp(first))
        .map(id -> {
          LOG.info("engine serving " + first.scripts().size() + " script(s) from " + dir + " on " + engine.boundAddress());
          return engine;
        })
        .onFailure(e -> vertx.close());
  }

  /**
   * Calls the engine's own {@code /v1/decide} once per script (tenant "(warm-up)", a made-up
   * request) before it reports healthy: a cold engine took about 0.5 s for its first decision
   * (class loading), which a supervised engine, just restarted, would otherwise charge to real
   * requests as missed deadlines. Scripts cannot do I/O; failures here are ignored.
   */
  private Future<Void> warmUp(ScriptLibrary lib) {
    long started = System.nanoTime();
    io.vertx.core.http.HttpClient client = vertx.createHttpClient();
    io.vertx.core.http.RequestOptions options = new io.vertx.core.http.RequestOptions()
        .setMethod(io.vertx.core.http.HttpMethod.POST).setURI("/v1/decide").setIdleTimeout(5_000)
        .setServer(address.isDomainSocket() ? address : SocketAddress.inetSocketAddress(port(), address.host()));
    Future<Void> chain = Future.succeededFuture();
    for (String script : lib.scripts().keySet().stream().sorted().limit(100).toList()) {
      io.vertx.core.buffer.Buffer body = io.vertx.core.buffer.Buffer.buffer("""
          {"version": 1, "tenant": "(warm-up)", "script": "%s", "request": {"method": "GET", "path": "/",
           "host": "warm-up.invalid", "client_ip": "127.0.0.1", "request_id": "warm-up", "headers": [["Accept", "*/*"]]},
           "backends": [{"name": "warm-up", "url": "http://127.0.0.1:9", "healthy": true, "weight": 1, "labels": {}}]}"""
          .formatted(script.replace("\\", "\\\\").replace("\"", "\\\"")));
      chain = chain.compose(v -> client.request(options).compose(r -> r.send(body)).compose(r -> r.body())
          .<Void>mapEmpty().otherwise((Void) null));
    }
    return chain.eventually(client::close).onComplete(v -> {
      warm = true;
      LOG.fine("engine warm-up: " + lib.scripts().size() + " script(s) in " + (System.nanoTime() - started) / 1_000_000 + " ms");
    });
  }

  /** False until the warm-up calls are done: {@code /health} answers 503 meanwhile. */
  boolean warm() {
    return warm;
  }

  SocketAddress address() {
    return address;
  }

  /** Where it listens: the domain socket, or host:port with the port actually bound. */
  public String boundAddress() {
    return address.isDomainSocket() ? "unix:" + address.path() : address.host() + ":" + servers.get(0).actualPort();
  }

  public int port() {
    return servers.get(0).actualPort();
  }

  ScriptLibrary library() {
    return library.get();
  }

  ScriptEnvironment environment() {
    return environment;
  }

  /** Re-reads the directory; on any compile error the running scripts stay. (Blocking.) */
  ScriptLibrary reload() throws ScriptLibrary.LoadException {
    synchronized (library) {
      ScriptLibrary next = ScriptLibrary.load(dir, library.get().version() + 1);
      library.set(next);
      LOG.info("engine scripts version " + next.version() + ": " + next.scripts().size() + " script(s)");
      return next;
    }
  }

  /** Reloads off the event loops (SIGHUP); errors are logged and the running scripts stay. */
  public void reloadAsync() {
    vertx.executeBlocking(this::reload, false).onFailure(e -> LOG.warning("engine reload rejected: " + e.getMessage()));
  }

  public Future<Void> close() {
    return vertx.close();
  }
}
