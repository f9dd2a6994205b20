package dev.keystone.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Fails a test class whose code leaked a Netty buffer (one that was garbage-collected without
 * being released): the detector runs at {@code paranoid} (every buffer tracked, set in the
 * surefire configuration) and reports here instead of only to a log nobody reads. Registered
 * for every test class through {@code junit-platform.properties}; installed before any buffer
 * class is loaded, since Netty reads the factory once, when its buffer classes initialise.
 */
public final class LeakCheck implements AfterAllCallback {

  private static final ConcurrentLinkedQueue<String> LEAKS = new ConcurrentLinkedQueue<>();

  static {
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
      @Override
      @SuppressWarnings("deprecation")
      public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval, long maxActive) {
        return new ResourceLeakDetector<>(resource, samplingInterval, maxActive) {
          @Override
          protected void reportTracedLeak(String resourceType, String records) {
            LEAKS.add(resourceType + " leaked:" + records);
            super.reportTracedLeak(resourceType, records);
          }

          @Override
          protected void reportUntracedLeak(String resourceType) {
            LEAKS.add(resourceType + " leaked (untraced)");
            super.reportUntracedLeak(resourceType);
          }
        };
      }
    });
  }

  /** The leaks reported so far, cleared. */
  public static List<String> drain() {
    List<String> out = new ArrayList<>();
    String s;
    while ((s = LEAKS.poll()) != null) {
      out.add(s);
    }
    return out;
  }

  /** Runs a collection and waits until its references have been enqueued (as the detector's are). */
  private static void collect() throws InterruptedException {
    java.lang.ref.ReferenceQueue<Object> queue = new java.lang.ref.ReferenceQueue<>();
    java.lang.ref.WeakReference<Object> sentinel = new java.lang.ref.WeakReference<>(new Object(), queue);
    for (int i = 0; i < 10 && queue.poll() == null; i++) {
      System.gc();
      if (queue.remove(200) != null) {
        break;
      }
    }
    java.lang.ref.Reference.reachabilityFence(sentinel);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (ResourceLeakDetector.getLevel() == ResourceLeakDetector.Level.DISABLED) {
      return;
    }
    // A leak is reported when the detector next tracks a buffer after the leaked one was
    // collected: collect, then allocate a few buffers, twice over.
    for (int i = 0; i < 3; i++) {
      collect();
      for (int j = 0; j < 64; j++) {
        ByteBuf a = PooledByteBufAllocator.DEFAULT.directBuffer(16);
        ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(16);
        a.release();
        b.release();
      }
    }
    List<String> leaks = drain();
    if (!leaks.isEmpty()) {
      throw new AssertionError(context.getDisplayName() + ": Netty reported " + leaks.size() + " leaked buffer(s):\n"
          + String.join("\n", leaks));
    }
  }
}
