package dev.keystone.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The Node.js engine's one dependency (QuickJS as WebAssembly), installed from its lock file the
 * first time a test needs it, so that the README's {@code mvn -B test} works on a fresh checkout.
 */
public final class NodeEngine {

  public static final Path DIR = Path.of("engines/node").toAbsolutePath();

  private NodeEngine() {
  }

  /** Runs {@code npm ci} in engines/node unless its dependency is there already. */
  public static synchronized void ensureInstalled() {
    if (Files.isDirectory(DIR.resolve("node_modules/quickjs-emscripten"))) {
      return;
    }
    try {
      Process p = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(DIR.toFile())
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new AssertionError("npm ci in " + DIR + " failed:\n" + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("npm ci in " + DIR + " (is npm installed?)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
