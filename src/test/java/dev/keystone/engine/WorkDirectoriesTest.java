package dev.keystone.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The directories a gateway makes for its engines (a socket's, a copy of the scripts) carry its
 * PID, and those of gateways that are gone are removed when another starts one: a gateway killed
 * with -9 left both behind for good (attack round 9 on the Node engine, N9-3). Gone is read from a
 * lock the gateway holds while it lives, not from its PID (round 10, N10-3).
 */
class WorkDirectoriesTest {

  @TempDir
  Path tmp;

  @Test
  void aNewDirectoryNamesThisProcessAndTheDirectoriesOfGatewaysThatAreGoneAreRemoved() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    long dead = gone.pid();
    // made by a gateway from before the locks: judged by PID, once a minute old
    Path stale = Files.createDirectories(tmp.resolve("keystone-" + dead + "-scripts-shared-123"));
    Files.createDirectories(stale.resolve("sub"));
    Files.writeString(stale.resolve("sub/route.js"), "// a tenant's script");
    Path staleSocket = Files.createDirectories(tmp.resolve("keystone-" + dead + "-engine-456"));
    Path beingMade = Files.createDirectories(tmp.resolve("keystone-" + dead + "-engine-000"));
    for (Path p : List.of(stale, staleSocket)) {
      Files.setLastModifiedTime(p, FileTime.from(Instant.now().minusSeconds(120)));
    }
    long self = ProcessHandle.current().pid();
    Path live = Files.createDirectories(tmp.resolve("keystone-" + self + "-engine-789"));
    Path other = Files.createDirectories(tmp.resolve("keystone-" + dead + "-something-else"));
    Path unrelated = Files.createDirectories(tmp.resolve("keystone-process123"));

    Path made = WorkDirectories.create(tmp, "engine");

    assertThat(made.getFileName().toString()).startsWith("keystone-" + self + "-engine-");
    assertThat(Files.isDirectory(made)).isTrue();
    assertThat(stale).doesNotExist();
    assertThat(staleSocket).doesNotExist();
    assertThat(beingMade).as("less than a minute old: maybe not locked yet").isDirectory();
    assertThat(WorkDirectories.lockOf(made)).isRegularFile();
    assertThat(live).isDirectory();
    assertThat(other).isDirectory();
    assertThat(unrelated).isDirectory();
  }

  @Test
  void aDirectoryWhoseLockAnotherProcessHoldsIsKeptThoughItsPidIsNotSeenHere() throws Exception {
    // Failed before: judged by PID alone, a gateway removed the live engine directories of a
    // gateway in another PID namespace sharing /tmp (a PID it cannot see).
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    Path live = Files.createDirectories(tmp.resolve("keystone-" + gone.pid() + "-engine-111"));
    Path lock = WorkDirectories.lockOf(live);
    Files.createFile(lock);
    Files.setLastModifiedTime(live, FileTime.from(Instant.now().minusSeconds(120)));
    Files.setLastModifiedTime(lock, FileTime.from(Instant.now().minusSeconds(120)));
    Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), LockHolder.class.getName(), lock.toString()).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream()));
      assertThat(out.readLine()).isEqualTo("locked");
      WorkDirectories.create(tmp, "engine");
      assertThat(live).isDirectory();
      assertThat(lock).isRegularFile();
    } finally {
      holder.getOutputStream().close();
      holder.waitFor();
    }
    // its holder gone, the lock is free: removed, lock file and all
    WorkDirectories.create(tmp, "engine");
    assertThat(live).doesNotExist();
    assertThat(lock).doesNotExist();
  }

  @Test
  void aDirectoryWhoseLockNobodyHoldsIsRemovedThoughItsPidIsAlive() throws Exception {
    // A PID reused by an unrelated process kept a dead gateway's directories for good.
    Path reused = Files.createDirectories(tmp.resolve("keystone-1-scripts-shared-222"));
    Files.writeString(reused.resolve("route.js"), "// a tenant's script");
    Path lock = WorkDirectories.lockOf(reused);
    Files.createFile(lock);
    Files.setLastModifiedTime(lock, FileTime.from(Instant.now().minusSeconds(120)));
    Path mine = WorkDirectories.create(tmp, "engine");
    Files.writeString(mine.resolve("engine.sock"), "");

    WorkDirectories.create(tmp, "scripts-x");

    assertThat(reused).doesNotExist();
    assertThat(lock).doesNotExist();
    assertThat(mine).as("this process's own, locked").isDirectory();
    assertThat(WorkDirectories.lockOf(mine)).isRegularFile();
  }
}
