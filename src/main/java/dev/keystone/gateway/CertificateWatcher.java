package dev.keystone.gateway;

import dev.keystone.config.GatewayConfig;
import dev.keystone.config.ServerCertificate;
import dev.keystone.config.TenantConfig;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Reloads when a certificate or key file the served config names changes (a renewal by certbot
 * or another ACME client writes new files under the same names). The reload is the config's own:
 * the new files are checked as at start, and a broken pair is refused with the running
 * certificate kept. Polls the files' size and time every few seconds (a file's content is read
 * only when they moved), so thousands of certificates cost a stat each per poll.
 */
final class CertificateWatcher implements AutoCloseable {

  static final long PERIOD_MS = 5000;
  /** A file larger than this is not read here (the reload's own check reports it): a keys file's bound. */
  private static final long MAX_READ = 16 << 20;

  private final Vertx vertx;
  private final Supplier<GatewayConfig> served;
  private final Runnable onChange;
  private final long timer;
  /** Each file's size and time as last polled. */
  private final Map<Path, String> stamps = new HashMap<>();
  /** The files whose change already triggered a reload, with the content that did. */
  private final Map<Path, String> triggered = new HashMap<>();

  CertificateWatcher(Vertx vertx, Supplier<GatewayConfig> served, Runnable onChange) {
    this.vertx = vertx;
    this.served = served;
    this.onChange = onChange;
    this.timer = vertx.setPeriodic(PERIOD_MS, id -> vertx.executeBlocking(() -> {
      poll();
      return null;
    }, false));
  }

  /** Runs on a worker, one poll at a time (ordered). */
  synchronized void poll() {
    Map<Path, String> expected = files(served.get());
    stamps.keySet().retainAll(expected.keySet());
    triggered.keySet().retainAll(expected.keySet());
    boolean changed = false;
    for (Map.Entry<Path, String> f : expected.entrySet()) {
      String stamp = stamp(f.getKey());
      String before = stamps.put(f.getKey(), stamp);
      if (stamp == null || stamp.equals(before) && !triggered.containsKey(f.getKey())) {
        continue; // missing for a moment (being replaced), or untouched since the last poll
      }
      String now = read(f.getKey());
      if (now == null || now.equals(f.getValue())) {
        triggered.remove(f.getKey());
        continue;
      }
      if (!now.equals(triggered.get(f.getKey()))) {
        triggered.put(f.getKey(), now); // refused content is not reloaded again every poll
        changed = true;
      }
    }
    if (changed) {
      onChange.run();
    }
  }

  /** The certificate and key files of {@code config}, with their content as served. */
  private static Map<Path, String> files(GatewayConfig config) {
    Map<Path, String> out = new LinkedHashMap<>();
    if (config.apiKeys() != null) {
      out.put(config.apiKeys().file(), config.apiKeys().content()); // keys created or revoked: a reload
    }
    if (!config.tls().enabled()) {
      return out;
    }
    add(out, config.tls().fallback());
    for (TenantConfig t : config.tenants()) {
      add(out, t.tls());
      if (t.clientAuth() != null) {
        out.put(t.clientAuth().caFile(), t.clientAuth().caPem()); // a CA renewed or rotated is a reload too
      }
    }
    return out;
  }

  private static void add(Map<Path, String> out, ServerCertificate c) {
    if (c != null && !c.auto()) { // the gateway writes tls: auto's files itself
      out.put(c.certFile(), c.certPem());
      out.put(c.keyFile(), c.keyPem());
    }
  }

  private static String stamp(Path file) {
    try {
      BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
      return a.size() + " " + a.lastModifiedTime() + " " + a.fileKey();
    } catch (IOException e) {
      return null;
    }
  }

  /** The file's content as the config binder reads it, or null (not a regular file, too large, unreadable). */
  private static String read(Path file) {
    try {
      if (!Files.isRegularFile(file) || Files.size(file) > MAX_READ) {
        return null;
      }
      try (InputStream in = Files.newInputStream(file)) {
        return new String(in.readNBytes((int) MAX_READ + 1), StandardCharsets.ISO_8859_1);
      }
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  public void close() {
    vertx.cancelTimer(timer);
  }
}
