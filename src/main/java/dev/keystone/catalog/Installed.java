package dev.keystone.catalog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The catalog scripts installed for a config: {@code catalog-scripts/NAME@VERSION/} next to it,
 * one directory per entry with exactly the entry's files, and the lock file that pins them. Every
 * read checks the files against the lock's SHA-256 again: a script edited after it was installed
 * is refused (naming the entry), not run.
 */
public final class Installed {

  public static final String DIR = "catalog-scripts";

  /** Reads a file whole, at most {@code max} bytes (a missing one: NoSuchFileException). */
  public interface Reader {
    byte[] read(Path file, int max) throws IOException;

    Reader FILES = Installed::readFile;
  }

  private final Path base;
  private final Reader reader;

  /** {@code base}: the directory of the config file (where the lock file is). */
  public Installed(Path base) {
    this(base, Reader.FILES);
  }

  public Installed(Path base, Reader reader) {
    this.base = base;
    this.reader = reader;
  }

  public Path base() {
    return base;
  }

  public LockFile lock() throws CatalogException {
    return LockFile.read(base, reader);
  }

  public Path dir(String name, String version) {
    return base.resolve(DIR).resolve(name + "@" + version);
  }

  /** The installed entry {@code name}, checked against the lock; {@code version} (if given) must be the pinned one. */
  public Entry read(String name, String version) throws CatalogException {
    LockFile.Pinned p = lock().scripts().get(name);
    if (p == null) {
      throw new CatalogException("catalog script " + name + " is not installed (no entry in " + base.resolve(LockFile.FILE)
          + "): run keystone scripts add " + name + (version == null ? "" : "@" + version));
    }
    if (version != null && !version.equals(p.version())) {
      throw new CatalogException("catalog script " + name + "@" + version + " is not installed: " + LockFile.FILE
          + " pins " + p.id() + " (keystone scripts update " + name + "@" + version + ")");
    }
    Path dir = dir(name, p.version());
    Entry.FileReader reader = (f, max) -> {
      Path file = dir.resolve(CatalogSource.checked(f));
      try {
        return this.reader.read(file, max);
      } catch (NoSuchFileException x) {
        throw new CatalogException(file + ": missing (the installed entry " + name + " lost a file)");
      } catch (IOException x) {
        throw new CatalogException(file + ": " + x.getMessage());
      }
    };
    byte[] manifestBytes = reader.read(Manifest.FILE, Entry.MAX_FILE);
    Manifest m = Manifest.parse(dir.resolve(Manifest.FILE).toString(), manifestBytes);
    if (!m.name().equals(name) || !m.version().equals(p.version())) {
      throw new CatalogException(dir.resolve(Manifest.FILE) + ": is " + m.id() + ", the lock file pins " + p.id());
    }
    return Entry.read(m, manifestBytes, reader, p.sha256(), p.signed());
  }

  /**
   * Writes the entry's files (replacing any other installed version of it) and pins it in the
   * lock file, recording which languages' versions passed the tests ({@code tested}: the gateway
   * runs no other) and the fingerprint of the key the signature was verified with (or "").
   */
  public void install(Entry e, String catalog, java.util.List<String> tested, String key) throws CatalogException {
    LockFile lock = lock();
    Path target = dir(e.manifest().name(), e.manifest().version());
    try {
      Files.createDirectories(target.getParent());
      Path tmp = Files.createTempDirectory(target.getParent(), "." + e.manifest().name() + "-");
      for (Map.Entry<String, byte[]> f : e.files().entrySet()) {
        Files.write(tmp.resolve(f.getKey()), f.getValue());
      }
      deleteTree(target);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException x) {
      throw new CatalogException("cannot install " + e.id() + " into " + target + ": " + x.getMessage());
    }
    LockFile.Pinned old = lock.scripts().get(e.manifest().name());
    lock.with(new LockFile.Pinned(e.manifest().name(), e.manifest().version(), e.sha256(), catalog, e.signed(),
        e.manifest().languages(), java.util.List.copyOf(new java.util.TreeSet<>(tested)), key)).write(base);
    if (old != null && !old.version().equals(e.manifest().version())) {
      deleteQuietly(dir(old.name(), old.version()));
    }
  }

  /** Records that {@code languages} of installed {@code name} (checked just now) passed the tests. */
  public void markTested(String name, java.util.List<String> languages) throws CatalogException {
    LockFile lock = lock();
    LockFile.Pinned p = lock.scripts().get(name);
    if (p != null && !p.tested().containsAll(languages)) {
      lock.with(p.testedAlso(languages)).write(base);
    }
  }

  /** Unpins {@code name} and deletes its files; false when it was not installed. */
  public boolean remove(String name) throws CatalogException {
    LockFile lock = lock();
    LockFile.Pinned p = lock.scripts().get(name);
    if (p == null) {
      return false;
    }
    lock.without(name).write(base);
    deleteQuietly(dir(p.name(), p.version()));
    return true;
  }

  private static byte[] readFile(Path file, int max) throws IOException {
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException("not a regular file"); // a fifo would block; a link could lead anywhere
    }
    try (var in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
      byte[] b = in.readNBytes(max + 1);
      if (b.length > max) {
        throw new IOException("above " + max + " bytes");
      }
      return b;
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static void deleteQuietly(Path dir) {
    try {
      deleteTree(dir);
    } catch (IOException ignored) {
      // a left-over directory of an old version is harmless: nothing reads what the lock does not pin
    }
  }
}
