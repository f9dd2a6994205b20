package dev.keystone.engine;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Holds a lock on a file until its standard input closes: a gateway in another PID namespace, as
 * far as the file's lock shows (WorkDirectoriesTest).
 */
public final class LockHolder {

  private LockHolder() {
  }

  public static void main(String[] args) throws Exception {
    try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.WRITE)) {
      channel.lock();
      System.out.println("locked");
      System.out.flush();
      while (System.in.read() >= 0) {
        // until the test closes our input
      }
    }
  }
}
