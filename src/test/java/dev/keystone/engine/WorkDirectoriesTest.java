package dev.keystone.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The directories a gateway makes for its engines (a socket's, a copy of the scripts) carry its
 * PID, and those of gateways that are gone are removed when another starts one: a gateway killed
 * with -9 left both behind for good (attack round 9 on the Node engine, N9-3).
 */
class WorkDirectoriesTest {

  @TempDir
  Path tmp;

  @Test
  void aNewDirectoryNamesThisProcessAndTheDirectoriesOfGatewaysThatAreGoneAreRemoved() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    long dead = gone.pid();
    Path stale = Files.createDirectories(tmp.resolve("keystone-" + dead + "-scripts-shared-123"));
    Files.createDirectories(stale.resolve("sub"));
    Files.writeString(stale.resolve("sub/route.js"), "// a tenant's script");
    Path staleSocket = Files.createDirectories(tmp.resolve("keystone-" + dead + "-engine-456"));
    long self = ProcessHandle.current().pid();
    Path live = Files.createDirectories(tmp.resolve("keystone-" + self + "-engine-789"));
    Path other = Files.createDirectories(tmp.resolve("keystone-" + dead + "-something-else"));
    Path unrelated = Files.createDirectories(tmp.resolve("keystone-process123"));

    Path made = WorkDirectories.create(tmp, "engine");

    assertThat(made.getFileName().toString()).startsWith("keystone-" + self + "-engine-");
    assertThat(Files.isDirectory(made)).isTrue();
    assertThat(stale).doesNotExist();
    assertThat(staleSocket).doesNotExist();
    assertThat(live).isDirectory();
    assertThat(other).isDirectory();
    assertThat(unrelated).isDirectory();
  }
}
