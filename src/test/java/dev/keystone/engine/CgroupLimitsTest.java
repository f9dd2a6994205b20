package dev.keystone.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Groups left behind by a gateway killed with -9 are removed by the next one. */
class CgroupLimitsTest {

  @Test
  void groupsOfGatewaysThatAreGoneAreRemovedOthersStay(@TempDir Path parent) throws Exception {
    long gone = ProcessHandle.current().pid() + 4_000_000L; // above pid_max: no such process
    Path stale = Files.createDirectory(parent.resolve("keystone-engine-" + gone + "-keystone-engine-123"));
    Path mine = Files.createDirectory(parent.resolve("keystone-engine-" + ProcessHandle.current().pid() + "-x"));
    Path other = Files.createDirectory(parent.resolve("system.slice"));
    Path busy = Files.createDirectory(parent.resolve("keystone-engine-" + (gone + 1) + "-y"));
    Files.writeString(busy.resolve("cgroup.procs"), "123\n"); // stands for a group the kernel refuses to remove

    CgroupLimits.sweepStale(parent);

    assertThat(stale).doesNotExist();
    assertThat(mine).as("this gateway's own").exists();
    assertThat(other).as("not ours").exists();
    assertThat(busy).as("not empty: left alone").exists();
  }
}
