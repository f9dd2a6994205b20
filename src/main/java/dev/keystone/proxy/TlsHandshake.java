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
 */
public final class TlsHandshake {

  static final String NAME = "tls";
  /** A ClientHello is a few hundred bytes; post-quantum key shares make it a few KiB. */
  static final int MAX_CLIENT_HELLO = 16 * 1024;

  private final Supplier<? extends Mapping<String, SslContext>> certificates;
  private final long timeoutMillis;

  /**
   * @param certificates  the certificates in force, read at each handshake
   * @param timeoutMillis how long a client may take to send its ClientHello and finish the handshake
   */
  public TlsHandshake(Supplier<? extends Mapping<String, SslContext>> certificates, long timeoutMillis) {
    this.certificates = certificates;
    this.timeoutMillis = timeoutMillis;
  }

  ChannelHandler newHandler() {
    return new SniHandler(this::lookup, MAX_CLIENT_HELLO, timeoutMillis) {
      @Override
      protected io.netty.handler.ssl.SslHandler newSslHandler(SslContext context, io.netty.buffer.ByteBufAllocator allocator) {
        io.netty.handler.ssl.SslHandler h = super.newSslHandler(context, allocator);
        h.setHandshakeTimeoutMillis(timeoutMillis);
        return h;
      }
    };
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
