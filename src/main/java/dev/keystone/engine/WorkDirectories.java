package dev.keystone.engine;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The temporary directories a gateway makes for its supervised engines: a socket's
 * ({@code engine}) and a copy of the scripts an engine serves ({@code scripts-...}). Each is
 * named {@code keystone-PID-KIND-...} after the gateway that made it; a gateway stopped cleanly
 * removes its own, and one killed with -9 cannot, so making one first removes those of gateways
 * that are gone (attack round 9 on the Node engine, N9-3: tenants' scripts stayed in /tmp for good).
 * Only directories owned by this process's user are touched, and links are removed, never followed.
 *
 * <p>Whether a gateway is gone is read from a lock, not from its PID: next to each directory is a
 * file ({@code NAME.lock}; not inside, where the engine reads its scripts) its gateway keeps locked
 * while it lives, and the kernel lets the lock go when the process dies.
 * A PID says nothing across PID namespaces (two containers sharing /tmp: each would have removed
 * the other's live engine directories) nor after the PID is reused (attack round 10, N10-3). A
 * directory without that file (made by an older gateway) is judged by its PID; either only once it
 * is a minute old (it may be one that is being made, not locked yet).
 */
public final class WorkDirectories {

  private static final Logger LOG = Logger.getLogger("keystone.engine");
  private static final Pattern OURS = Pattern.compile("keystone-(\\d+)-(engine|scripts)-.+");
  static final String LOCK = ".lock";
  private static final Duration UNLOCKED_GRACE = Duration.ofMinutes(1);
  /** The locks of this process's directories, held while they exist (released once they are removed). */
  private static final List<Held> HELD = new CopyOnWriteArrayList<>();

  private record Held(Path dir, FileChannel channel) {
  }

  private WorkDirectories() {
  }

  /** A new directory for {@code kind} in the system's temporary directory. */
  public static Path create(String kind) throws IOException {
    return create(Path.of(System.getProperty("java.io.tmpdir")), kind);
  }

  /** The same in {@code parent}, after removing the directories there of gateways that are gone. */
  static Path create(Path parent, String kind) throws IOException {
    releaseRemoved();
    sweep(parent);
    Path dir = Files.createTempDirectory(parent, "keystone-" + ProcessHandle.current().pid() + "-" + kind + "-");
    FileChannel channel = FileChannel.open(lockOf(dir), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    try {
      channel.lock();
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
    HELD.add(new Held(dir, channel));
    return dir;
  }

  /** Whether {@code dir} is one this process made (and holds the lock of). */
  public static boolean isOurs(Path dir) {
    return HELD.stream().anyMatch(h -> h.dir().equals(dir));
  }

  /** Removes {@code dir}, one this process made, with what it holds, and lets go of its lock. */
  public static void removeOurs(Path dir) {
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      remove(dir);
    }
    releaseRemoved();
  }

  static Path lockOf(Path dir) {
    return dir.resolveSibling(dir.getFileName() + LOCK);
  }

  /** Lets go of (and removes) the locks of directories that were removed (their owners delete them when done). */
  private static void releaseRemoved() {
    for (Held h : HELD) {
      if (!Files.exists(h.dir(), LinkOption.NOFOLLOW_LINKS)) {
        HELD.remove(h);
        try {
          Files.deleteIfExists(lockOf(h.dir()));
          h.channel().close();
        } catch (IOException e) {
          LOG.fine("cannot let go of the lock of " + h.dir() + ": " + e);
        }
      }
    }
  }

  private static void sweep(Path parent) {
    try (Stream<Path> children = Files.list(parent)) {
      children.forEach(d -> {
        Matcher m = OURS.matcher(d.getFileName().toString());
        if (!m.matches() || !ownedByUs(d)) {
          return;
        }
        String name = d.getFileName().toString();
        // Never this process's own: opening their lock files again and closing them would let go
        // of its locks (POSIX drops all of a process's locks on a file at any close of it).
        if (HELD.stream().anyMatch(h -> h.dir().equals(d) || lockOf(h.dir()).equals(d))) {
          return;
        }
        if (Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
          Path lock = lockOf(d);
          if (Files.isRegularFile(lock, LinkOption.NOFOLLOW_LINKS)) {
            removeUnlocked(d, lock);
          } else if (olderThanGrace(d) && !ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false)) {
            remove(d);
          }
        } else if (name.endsWith(LOCK) && Files.isRegularFile(d, LinkOption.NOFOLLOW_LINKS)
            && !Files.exists(d.resolveSibling(name.substring(0, name.length() - LOCK.length())), LinkOption.NOFOLLOW_LINKS)) {
          removeUnlocked(null, d); // the lock of a directory its gateway removed, left when it then died
        }
      });
    } catch (IOException | RuntimeException e) {
      LOG.fine("cannot list " + parent + ": " + e);
    }
  }

  /**
   * Removes {@code dir} (if not null) and its {@code lock} if no process holds the lock (its
   * gateway is gone), holding the lock meanwhile.
   */
  private static void removeUnlocked(Path dir, Path lock) {
    if (!olderThanGrace(lock)) {
      return; // maybe made a moment ago, and about to be locked
    }
    try (FileChannel channel = FileChannel.open(lock, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
      FileLock held;
      try {
        held = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        return; // this process's own
      }
      if (held != null) {
        if (dir != null) {
          remove(dir);
        }
        Files.deleteIfExists(lock);
      }
    } catch (IOException | RuntimeException e) {
      LOG.fine("cannot check the lock " + lock + ": " + e);
    }
  }

  private static boolean olderThanGrace(Path d) {
    try {
      FileTime made = Files.getLastModifiedTime(d, LinkOption.NOFOLLOW_LINKS);
      return made.toInstant().isBefore(Instant.now().minus(UNLOCKED_GRACE));
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean ownedByUs(Path d) {
    try {
      return Files.getOwner(d, LinkOption.NOFOLLOW_LINKS).getName().equals(System.getProperty("user.name"));
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  private static void remove(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) { // does not follow links
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
      if (!isOurs(dir)) {
        LOG.info("removed the directory of a gateway that is gone: " + dir);
      }
    } catch (IOException | RuntimeException e) {
      LOG.fine("cannot remove " + dir + ": " + e);
    }
  }
}
