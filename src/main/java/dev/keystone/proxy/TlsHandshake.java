package dev.keystone.proxy;

import io.netty.channel.ChannelHandler;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.Mapping;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

import java.util.function.Supplier;

/**
 * The start of a TLS client connection: reads the ClientHello, picks the certificate for the
 * name it asks for (SNI) from the certificates in force now (a reload changes them for the next
 * handshake, not for connections already up), and replaces itself with the TLS handler. A name
 * nothing serves, a ClientHello that is not one or that is too large, fails the connection before
 * anything reaches the HTTP decoder; a handshake that does not finish is cut by the header-read
 * deadline every new connection has ({@link ClientConnections}).
 *
 * <p>The handshake's cryptography (the JDK engine's delegated tasks: key exchange, signing) runs
 * on a small pool of its own, not on the event loop: a burst of thousands of ClientHellos held the
 * loops for seconds, and plain clients and health checks with them (attack s13-1). The pool's
 * queue is bounded; a handshake beyond it fails at once and its connection closes.
 */
public final class TlsHandshake {

  static final String NAME = "tls";
  /** The server name the connection's handshake asked for (SNI, lower case), kept for its requests. */
  static final io.netty.util.AttributeKey<String> SERVER_NAME = io.netty.util.AttributeKey.valueOf("keystone.sni");
  /** What the connection's handshake proved of the client (its context's client CA and mode). */
  static final io.netty.util.AttributeKey<String> CLIENT_AUTH = io.netty.util.AttributeKey.valueOf("keystone.client-auth");
  /** A ClientHello is a few hundred bytes; post-quantum key shares make it a few KiB. */
  static final int MAX_CLIENT_HELLO = 16 * 1024;
  /** Handshake steps waiting for the pool, at most: about a second of work for one core. */
  static final int MAX_QUEUED = 1024;

  /** Shared by every gateway in the process; its threads end when idle. */
  private static final java.util.concurrent.ThreadPoolExecutor CRYPTO = crypto();

  private static java.util.concurrent.ThreadPoolExecutor crypto() {
    int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(threads, threads, 30,
        java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.ArrayBlockingQueue<>(MAX_QUEUED), r -> {
          Thread t = new Thread(r, "keystone-tls-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        }, new java.util.concurrent.ThreadPoolExecutor.AbortPolicy());
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /**
   * Handshakes in progress at most, for the whole gateway: one event loop completes about 1,400
   * handshakes a second with BoringSSL (bench/tls; the JDK's engine 800), so this many wait about
   * a second.
   */
  static final int MAX_HANDSHAKES = 1024;
  /**
   * Handshakes in progress from one client address, at most: a single client flooding
   * ClientHellos takes a quarter of the slots, not all of them (attack s13-1). Only handshakes
   * under way count. 128 closed connections of a client that opened 256 at once (wrk, a NAT's
   * burst after a restart) unread, and each retried (bench/tls): 256 takes such a burst.
   *
   * <p>At either bound the oldest handshake in progress (of that client, or of all) is cut to
   * admit the new connection, rather than the new one refused: a handshake takes milliseconds,
   * so the oldest is the one a client left hanging. Refusing the newcomer let a few clients that
   * open sockets and send nothing lock every other client out of TLS until their header-read
   * deadline, again and again.
   */
  static final int MAX_PER_CLIENT = MAX_HANDSHAKES / 4;

  /**
   * Handshakes in progress per client address; an address leaves with its last. Counted and
   * dropped inside the map's own atomic updates: a counter object taken out and changed outside
   * them could be dropped from the map while another connection still counted on it, and the
   * address would then start again from 0 (attack s15 F3, from reading).
   */
  private final java.util.concurrent.ConcurrentHashMap<java.net.InetAddress, Integer> perClient =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final java.util.concurrent.atomic.AtomicInteger inProgress = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();
  private final Supplier<? extends Mapping<String, SslContext>> certificates;
  private final int maxHandshakes;
  private final int maxPerClient;
  private final long timeoutMillis;
  /** The ACME TLS-ALPN-01 answers open now; null: none are ever given. */
  private volatile dev.keystone.model.AcmeTokens acme;

  /**
   * @param certificates  the certificates in force, read at each handshake
   * @param timeoutMillis how long a client may take to send its ClientHello and finish the handshake
   */
  public TlsHandshake(Supplier<? extends Mapping<String, SslContext>> certificates, long timeoutMillis) {
    this(certificates, timeoutMillis, MAX_HANDSHAKES, MAX_PER_CLIENT);
  }

  /** What a context's handshakes prove of a client; null: the table does not say. */
  private volatile java.util.function.Function<SslContext, String> clientAuthKeys;

  /** Records, per connection, what its handshake's context proves of the client (mutual TLS). */
  public TlsHandshake clientAuth(java.util.function.Function<SslContext, String> keys) {
    this.clientAuthKeys = keys;
    return this;
  }

  /** The OCSP answer to staple for a context's certificate (null: none); null: no stapling. */
  private volatile java.util.function.Function<SslContext, byte[]> staples;

  /** Staples {@code staples}' answer for the certificate each handshake presents (OCSP stapling). */
  public TlsHandshake stapling(java.util.function.Function<SslContext, byte[]> staples) {
    this.staples = staples;
    return this;
  }

  /** Answers the CA's TLS-ALPN-01 validations from {@code tokens} (RFC 8737). */
  public TlsHandshake answering(dev.keystone.model.AcmeTokens tokens) {
    this.acme = tokens;
    return this;
  }

  TlsHandshake(Supplier<? extends Mapping<String, SslContext>> certificates, long timeoutMillis, int maxHandshakes,
               int maxPerClient) {
    this.certificates = certificates;
    this.timeoutMillis = timeoutMillis;
    this.maxHandshakes = maxHandshakes;
    this.maxPerClient = maxPerClient;
  }

  /**
   * The handler that starts {@code ch}'s handshake. At a bound the oldest handshake in progress
   * is cut to make room ({@link #MAX_PER_CLIENT}); null only when none is left to cut (the
   * connection is then closed unread: cheaper than a handshake refused later, and it keeps a
   * flood of ClientHellos from taking the event loops).
   */
  ChannelHandler admit(io.netty.channel.Channel ch) {
    java.net.InetAddress client = ch.remoteAddress() instanceof java.net.InetSocketAddress a ? a.getAddress() : null;
    int mine = client == null ? 0 : perClient.merge(client, 1, Integer::sum);
    if (mine > maxPerClient && !cutOldest(client)) {
      release(client);
      refused.incrementAndGet();
      return null;
    }
    if (inProgress.incrementAndGet() > maxHandshakes && !cutOldest(null)) {
      inProgress.decrementAndGet();
      release(client);
      refused.incrementAndGet();
      return null;
    }
    Pending p = new Pending(ch, client);
    pending.add(p);
    Runnable finished = p::finish;
    ch.closeFuture().addListener(f -> finished.run());
    return new SniHandler(this::lookup, MAX_CLIENT_HELLO, timeoutMillis) {
      /** The ClientHello asked for ALPN acme-tls/1 only: an ACME validation, not a client. */
      private boolean validation;

      @Override
      protected Future<SslContext> lookup(io.netty.channel.ChannelHandlerContext ctx, io.netty.buffer.ByteBuf hello)
          throws Exception {
        validation = acme != null && hello != null && AcmeValidation.asksOnlyForAcmeTls(hello);
        return super.lookup(ctx, hello);
      }

      @Override
      protected Future<SslContext> lookup(io.netty.channel.ChannelHandlerContext ctx, String hostname) throws Exception {
        if (validation) {
          SslContext answer = AcmeValidation.context(acme, hostname);
          if (answer != null) {
            return ctx.executor().<SslContext>newPromise().setSuccess(answer);
          }
        }
        return super.lookup(ctx, hostname);
      }

      @Override
      protected void replaceHandler(io.netty.channel.ChannelHandlerContext ctx, String hostname, SslContext ctx2)
          throws Exception {
        ctx.channel().attr(SERVER_NAME).set(hostname);
        java.util.function.Function<SslContext, String> keys = clientAuthKeys;
        ctx.channel().attr(CLIENT_AUTH).set(keys == null ? null : keys.apply(ctx2));
        super.replaceHandler(ctx, hostname, ctx2);
      }

      @Override
      protected io.netty.handler.ssl.SslHandler newSslHandler(SslContext context, io.netty.buffer.ByteBufAllocator allocator) {
        io.netty.handler.ssl.SslHandler h = context.newHandler(allocator, CRYPTO);
        h.setHandshakeTimeoutMillis(timeoutMillis);
        java.util.function.Function<SslContext, byte[]> s = staples;
        if (s != null && h.engine() instanceof io.netty.handler.ssl.ReferenceCountedOpenSslEngine e && context.isServer()) {
          byte[] answer = s.apply(context);
          if (answer != null) {
            e.setOcspResponse(answer); // sent when the client asks (status_request)
          }
        }
        h.handshakeFuture().addListener(f -> finished.run());
        return h;
      }
    };
  }

  /** Handshakes admitted and not over, oldest first (what a bound cuts first). */
  private final java.util.concurrent.ConcurrentLinkedDeque<Pending> pending = new java.util.concurrent.ConcurrentLinkedDeque<>();

  /** A connection's handshake from admission to its end (through, failed, closed or cut). */
  private final class Pending {
    final io.netty.channel.Channel ch;
    final java.net.InetAddress client;
    private final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();

    Pending(io.netty.channel.Channel ch, java.net.InetAddress client) {
      this.ch = ch;
      this.client = client;
    }

    /** Frees its slots, once; false if they were freed already. */
    boolean finish() {
      if (!done.compareAndSet(false, true)) {
        return false;
      }
      inProgress.decrementAndGet();
      release(client);
      pending.remove(this);
      return true;
    }
  }

  /**
   * Cuts the oldest handshake in progress of {@code client} (null: of any client): its slots are
   * freed now, its connection closes. False when there is none to cut.
   */
  private boolean cutOldest(java.net.InetAddress client) {
    for (Pending p : pending) {
      if ((client == null || client.equals(p.client)) && p.finish()) {
        p.ch.close();
        refused.incrementAndGet();
        return true;
      }
    }
    return false;
  }

  /** One handshake of {@code client} is over; its count goes when it reaches 0 (the map stays small). */
  private void release(java.net.InetAddress client) {
    if (client != null) {
      perClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
    }
  }

  /** Handshakes in progress (connections accepted on the TLS listener and not yet through it). */
  public int inProgress() {
    return inProgress.get();
  }

  /**
   * Connections closed by the bounds: the oldest handshake cut to admit a new connection, or (when
   * there was none left to cut) the new connection closed unread.
   */
  public long refused() {
    return refused.get();
  }

  private Future<SslContext> lookup(String name, Promise<SslContext> promise) {
    SslContext ctx = certificates.get().map(name);
    return ctx != null ? promise.setSuccess(ctx) : promise.setFailure(new NoCertificate(name));
  }

  /** No tenant serves the name and there is no {@code tls_default}. */
  static final class NoCertificate extends Exception {
    NoCertificate(String name) {
      super(name == null ? "the client named no server, and there is no tls_default" : "no certificate for " + name, null,
          false, false);
    }
  }
}
