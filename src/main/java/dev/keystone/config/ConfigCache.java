package dev.keystone.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.zip.CRC32;

/**
 * The parsed form of a config file, kept beside it ({@code .NAME.keystone-cache}) so that the
 * next start skips reading the YAML, binding and validating: most of a 10,000-tenant start.
 *
 * <p>An entry is reused only when everything the parse depended on is as it was: the same
 * Keystone build, file name and working directory, the same heap limit (script limits derive from
 * it), the file's exact bytes (kept in the entry and compared whole: attack s12-F1 wrote a
 * different config with the same length and CRCs, which a checksum then took for the cached one;
 * comparing costs about 20 ms at 10,000 tenants where a cold SHA-256 took 100), and every input
 * {@link ConfigInputs} recorded (environment variables, script and CA files by SHA-256, which
 * paths were directories or files). Anything else, a damaged entry included, is a miss: the file
 * is parsed as if there were no cache, with the same errors. Only a config that loaded without
 * errors is stored, so a hit is a valid config.
 *
 * <p>The entry can hold secrets from the environment (an admin token), and whoever writes it
 * chooses the config: it is written with mode 0600, and read only when it is a regular file owned
 * by this process's user, with mode 0600 and one link. Writing happens on a background thread;
 * a read-only directory (a Kubernetes ConfigMap) only means no cache.
 */
public final class ConfigCache {

  private static final Logger LOG = Logger.getLogger("keystone.config");
  private static final byte[] MAGIC = "KSCONF1\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  static final String SUFFIX = ".keystone-cache";

  private final String build;
  private final java.util.concurrent.atomic.AtomicLong hits = new java.util.concurrent.atomic.AtomicLong();
  /** One writer thread at a time, in order, gone when idle (a gateway writes at start and reload). */
  private final java.util.concurrent.ThreadPoolExecutor writer = new java.util.concurrent.ThreadPoolExecutor(0, 1,
      5, TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
        Thread t = new Thread(r, "keystone-config-cache");
        t.setDaemon(true);
        return t;
      });

  /** The largest parsed form stored (estimated before encoding it). */
  private final long maxEntry;

  /** A cache for this {@code build}: entries of any other build are misses. */
  public ConfigCache(String build) {
    this(build, Runtime.getRuntime().maxMemory() / 16);
  }

  ConfigCache(String build, long maxEntry) {
    this.build = build;
    this.maxEntry = maxEntry;
  }

  /**
   * The build identity of the running code: {@code version} and the jar's size and CRC32C, so a
   * rebuilt jar (other defaults, other checks) never reuses an entry; null (no cache) when the
   * code is not running from a jar. The system property {@code keystone.config-cache.build}
   * names the build instead (empty: no cache), for tests that run from a class directory.
   */
  public static String buildOf(String version) {
    String given = System.getProperty("keystone.config-cache.build");
    if (given != null) {
      return given.isEmpty() ? null : version + " " + given; // tests run from classes, not a jar
    }
    // java -jar keystone.jar: the class path is the jar (reading it from there, not from a
    // class's protection domain, costs nothing at start)
    String cp = System.getProperty("java.class.path", "");
    if (!cp.endsWith(".jar") || cp.contains(java.io.File.pathSeparator)) {
      return null;
    }
    // The jar's content, not its size and time: builds made with normalised times (reproducible
    // builds, container layers) can share both (attack s12-F4). CRC32C reads a 10 MB jar in a
    // few milliseconds before anything is compiled; a different jar is a different build.
    String jar = jarIdentity(Path.of(cp));
    return jar == null ? null : version + " " + jar;
  }

  /** The size and CRC32C of {@code jar}, or null when it cannot be read. */
  static String jarIdentity(Path jar) {
    try (java.io.InputStream in = new java.io.FileInputStream(jar.toFile())) {
      java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
      byte[] buf = new byte[64 * 1024];
      long size = 0;
      for (int n; (n = in.read(buf)) > 0; ) {
        crc.update(buf, 0, n);
        size += n;
      }
      return size + " " + Long.toHexString(crc.getValue());
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Not a config read through /dev or /proc (--config /dev/stdin): no entry is written beside those. */
  static boolean cacheable(Path config) {
    String abs = config.toAbsolutePath().normalize().toString();
    return !abs.startsWith("/dev/") && !abs.startsWith("/proc/");
  }

  /** Where the entry for {@code config} lives. */
  public static Path fileFor(Path config) {
    Path abs = config.toAbsolutePath();
    return abs.resolveSibling("." + abs.getFileName() + SUFFIX);
  }

  /** The cached config for {@code content} read from {@code file}, or null. */
  GatewayConfig lookup(Path file, byte[] content, Function<String, String> env) {
    if (!cacheable(file)) {
      return null;
    }
    Path entry = fileFor(file);
    try {
      byte[] bytes = readTrusted(entry, content.length);
      if (bytes == null) {
        return null;
      }
      ConfigBytes.Reader r = body(bytes);
      if (r == null) {
        LOG.warning("config cache " + entry + " ignored: damaged or not an entry (it is replaced)");
        return null;
      }
      if (!r.utf8().equals(build) || !r.utf8().equals(file.toString())
          || !r.utf8().equals(ConfigInputs.workingDirectory().toString())
          || r.varlong() != Runtime.getRuntime().maxMemory()) {
        LOG.fine(() -> "config cache " + entry + ": another build, file, directory or heap");
        return null;
      }
      if (!r.bytesEqual(content)) {
        return null; // the file changed since: the usual miss
      }
      int n = r.count();
      List<ConfigInputs.Input> inputs = new java.util.ArrayList<>(n);
      ConfigInputs.Kind[] kinds = ConfigInputs.Kind.values();
      for (int i = 0; i < n; i++) {
        ConfigInputs.Kind kind = kinds[r.varint()];
        String name = r.utf8();
        inputs.add(new ConfigInputs.Input(kind, name, r.varint() == 1 ? r.utf8() : null));
      }
      Map<String, byte[]> files = ConfigInputs.unchanged(inputs, env);
      if (files == null) {
        LOG.fine(() -> "config cache " + entry + ": an environment variable or a file the config reads changed");
        return null;
      }
      if (r.count() != r.remaining()) {
        return null;
      }
      GatewayConfig config = ConfigCodec.decode(r, files);
      hits.incrementAndGet();
      LOG.info(file + ": parsed form reused from " + entry + " (the file and what it reads are unchanged)");
      return config;
    } catch (Exception | StackOverflowError e) {
      LOG.log(Level.WARNING, "config cache " + entry + " ignored (" + e + "): parsing the file", e);
      return null;
    }
  }

  /** The entry's bytes when it exists and only this user can have written it; else null. */
  private static byte[] readTrusted(Path entry, int contentLength) throws IOException, ConfigException {
    Map<String, Object> attrs;
    try {
      attrs = Files.readAttributes(entry, "unix:uid,mode,size,nlink", LinkOption.NOFOLLOW_LINKS);
    } catch (java.nio.file.NoSuchFileException e) {
      return null;
    } catch (UnsupportedOperationException e) {
      return null; // not a Unix file system: no way to check who wrote it
    }
    int mode = (Integer) attrs.get("mode");
    Object self = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    // Readable by others counts too: the entry holds what the config holds, secrets from the
    // environment included (attack s12-F6: a chmod -R a+rX left it readable, and it stayed so).
    if ((mode & 0170000) != 0100000 || (mode & 0077) != 0 || !attrs.get("uid").equals(self)
        || ((Integer) attrs.get("nlink")) != 1) {
      LOG.warning("config cache " + entry + " ignored (and replaced, if this user can): it must be a regular file"
          + " of this user (uid " + self + "), mode 0600, with no other link to it");
      return null;
    }
    // the entry holds the text and its parsed form, about as large again; anything much larger is not an entry
    long limit = 5L * contentLength + (16L << 20);
    if ((Long) attrs.get("size") > limit) {
      return null;
    }
    return ConfigText.readAll(entry, limit);
  }

  /** The entry's body after its magic, checked against its CRC; null when damaged. */
  private static ConfigBytes.Reader body(byte[] bytes) {
    if (bytes.length < MAGIC.length + 4 || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      return null;
    }
    CRC32 crc = new CRC32();
    crc.update(bytes, 0, bytes.length - 4);
    int at = bytes.length - 4;
    int stored = (bytes[at] & 0xff) << 24 | (bytes[at + 1] & 0xff) << 16 | (bytes[at + 2] & 0xff) << 8 | (bytes[at + 3] & 0xff);
    if ((int) crc.getValue() != stored) {
      return null;
    }
    return new ConfigBytes.Reader(bytes, MAGIC.length, bytes.length - 4);
  }

  /** Stores {@code config}, parsed from {@code content} with {@code inputs}, in the background. */
  void store(Path file, byte[] content, List<ConfigInputs.Input> inputs, GatewayConfig config) {
    if (!cacheable(file)) {
      return;
    }
    // Encoding holds the entry in memory, a few times over while its arrays grow. A config whose
    // values are huge (interpolated variables: attack s12-F5, 77 MB of labels) is served but not
    // stored: with -XX:+ExitOnOutOfMemoryError, the write would end the gateway.
    long estimate = 2L * content.length + ConfigCodec.textSize(config);
    if (estimate > maxEntry) {
      LOG.info("config " + file + " not cached: its parsed form (about " + (estimate >> 20)
          + " MiB) is above a sixteenth of the heap");
      return;
    }
    String cwd = ConfigInputs.workingDirectory().toString();
    long heap = Runtime.getRuntime().maxMemory();
    writer.execute(() -> {
      Path entry = fileFor(file);
      try {
        ConfigBytes.Writer w = new ConfigBytes.Writer();
        w.utf8(build);
        w.utf8(file.toString());
        w.utf8(cwd);
        w.varlong(heap);
        w.bytes(content);
        w.varint(inputs.size());
        for (ConfigInputs.Input in : inputs) {
          w.varint(in.kind().ordinal());
          w.utf8(in.name());
          w.varint(in.value() == null ? 0 : 1);
          if (in.value() != null) {
            w.utf8(in.value());
          }
        }
        w.bytes(ConfigCodec.encode(config));
        write(entry, w.toArray());
      } catch (IOException | RuntimeException e) {
        LOG.fine(() -> "config cache " + entry + " not written: " + e);
      }
    });
  }

  private static void write(Path entry, byte[] body) throws IOException {
    CRC32 crc = new CRC32();
    crc.update(MAGIC);
    crc.update(body);
    int c = (int) crc.getValue();
    PrivateFiles.replace(entry, MAGIC, body, new byte[] {(byte) (c >>> 24), (byte) (c >>> 16), (byte) (c >>> 8), (byte) c});
  }

  /** How many loads reused an entry. */
  public long hits() {
    return hits.get();
  }

  /** Waits until the entries stored so far are written (tests). */
  public void flush() throws InterruptedException {
    try {
      writer.submit(() -> { }).get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(e);
    }
  }
}
