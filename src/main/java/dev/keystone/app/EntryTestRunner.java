package dev.keystone.app;

import dev.keystone.catalog.CatalogException;
import dev.keystone.catalog.Entry;
import dev.keystone.catalog.EntryTests;
import dev.keystone.engine.LocalLuaEngine;
import dev.keystone.script.LuaScript;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * An entry's tests, run in every language this command can run: Lua in this process, and each
 * other language on the engine given with {@code --engine LANG=COMMAND} (the Node.js or Python
 * engine, started here on a private directory and a unix socket, stopped after). A language whose
 * tests did not run is not "tested": the gateway will not run that version (docs/catalog.md).
 */
final class EntryTestRunner implements ScriptsCommand.CatalogTests {

  private static final long CALL_SECONDS = 10;
  private static final long START_SECONDS = 30;

  @Override
  public ScriptsCommand.Outcome run(Entry e, Map<String, List<String>> engines, PrintStream out) throws CatalogException {
    List<String> tested = new ArrayList<>();
    List<String> failed = new ArrayList<>();
    for (String lang : e.manifest().languages()) {
      List<EntryTests.Result> results;
      if (lang.equals("lua")) {
        results = lua(e);
      } else if (engines.containsKey(lang)) {
        results = onEngine(e, lang, engines.get(lang));
      } else {
        out.println("  " + e.id() + ": its " + lang + " version was not tested (no --engine " + lang + "=COMMAND): "
            + "the gateway will not run it");
        continue;
      }
      List<String> bad = results.stream().filter(r -> !r.passed()).map(r -> lang + ": " + r).toList();
      bad.forEach(b -> out.println("  " + b));
      failed.addAll(bad);
      if (bad.isEmpty()) {
        tested.add(lang);
      }
    }
    return new ScriptsCommand.Outcome(tested, failed);
  }

  private static List<EntryTests.Result> lua(Entry e) throws CatalogException {
    LuaScript script;
    try {
      script = LuaScript.compile(e.id(), e.id() + "/" + e.manifest().scripts().get("lua"), e.script("lua"));
    } catch (LuaScript.SyntaxError x) {
      return List.of(new EntryTests.Result("(compile)", 0, "does not compile: " + x.getMessage()));
    }
    return EntryTests.run(e, e.id(), new LocalLuaEngine(script), EntryTests.tenantPrefix());
  }

  /** Starts {@code command} with --scripts DIR --listen unix:SOCKET on a directory holding only this entry's script. */
  private static List<EntryTests.Result> onEngine(Entry e, String lang, List<String> command) throws CatalogException {
    Path dir;
    try {
      dir = Files.createTempDirectory("keystone-entry-tests-");
    } catch (IOException x) {
      throw new CatalogException("cannot make a directory for the " + lang + " engine: " + x.getMessage());
    }
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(1).setWorkerPoolSize(1));
    Process engine = null;
    try {
      Path scripts = Files.createDirectories(dir.resolve("scripts"));
      String name = e.manifest().name();
      Files.writeString(scripts.resolve(name + "." + lang), e.script(lang));
      Path socket = dir.resolve("engine.sock");
      List<String> cmd = new ArrayList<>(command);
      cmd.addAll(List.of("--scripts", scripts.toString(), "--listen", "unix:" + socket));
      Path log = dir.resolve("engine.log");
      engine = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS);
      while (!Files.exists(socket)) {
        if (!engine.isAlive() || System.nanoTime() > until) {
          throw new CatalogException("the " + lang + " engine (" + String.join(" ", command) + ") did not start: "
              + tail(log));
        }
        Thread.sleep(50);
      }
      HttpClient http = vertx.createHttpClient();
      SocketAddress address = SocketAddress.domainSocketAddress(socket.toString());
      return EntryTests.run(e, name, (endpoint, body) -> http.request(new RequestOptions().setServer(address)
              .setMethod(HttpMethod.POST).setHost("localhost").setURI("/v1/" + endpoint).putHeader("Content-Type", "application/json"))
          .compose(r -> r.send(body.toBuffer())).compose(r -> r.body().map(b -> {
            if (r.statusCode() != 200) {
              throw new IllegalStateException("the engine answered " + r.statusCode() + ": " + b);
            }
            return new JsonObject(b);
          })).toCompletionStage().toCompletableFuture().get(CALL_SECONDS, TimeUnit.SECONDS), EntryTests.tenantPrefix());
    } catch (IOException x) {
      throw new CatalogException("cannot run the " + lang + " engine (" + String.join(" ", command) + "): " + x.getMessage());
    } catch (InterruptedException x) {
      Thread.currentThread().interrupt();
      throw new CatalogException("interrupted");
    } finally {
      if (engine != null) {
        engine.destroy();
        try {
          if (!engine.waitFor(10, TimeUnit.SECONDS)) {
            engine.destroyForcibly();
          }
        } catch (InterruptedException x) {
          Thread.currentThread().interrupt();
        }
      }
      vertx.close();
      delete(dir);
    }
  }

  private static String tail(Path log) {
    try {
      String s = Files.readString(log);
      return s.length() > 2000 ? s.substring(s.length() - 2000) : s;
    } catch (IOException x) {
      return "(no log)";
    }
  }

  private static void delete(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException ignored) {
      // a temporary directory
    }
  }
}
