package dev.keystone.acme;

import java.io.IOException;
import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.ProxySelector;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * The HTTP client acme4j talks to the CA with, bounded: each exchange, body included, ends within
 * {@link #DEADLINE}, and a body larger than {@link #MAX_BODY} fails it. The JDK's client bounds
 * neither once the head has arrived: a CA that sent a 400 MiB body ended the gateway
 * (OutOfMemoryError), one that never finished its body held the ACME thread, and every later
 * order, for ever (attack s13b-1, -2). The body is read whole into a bounded array and then handed
 * to the caller's handler.
 */
final class BoundedHttp {

  /** ACME bodies are JSON documents and certificate chains: a few KiB. */
  static final int MAX_BODY = 1 << 20;
  static final Duration DEADLINE = Duration.ofSeconds(60);

  private BoundedHttp() {
  }

  /** {@code builder} whose clients are bounded. */
  static HttpClient.Builder wrap(HttpClient.Builder builder, Duration deadline, int maxBody) {
    return new Builder(builder, deadline, maxBody);
  }

  private static final class Client extends HttpClient {

    private final HttpClient delegate;
    private final Duration deadline;
    private final int maxBody;

    Client(HttpClient delegate, Duration deadline, int maxBody) {
      this.delegate = delegate;
      this.deadline = deadline;
      this.maxBody = maxBody;
    }

    @Override
    public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
        throws IOException, InterruptedException {
      CompletableFuture<HttpResponse<byte[]>> f = delegate.sendAsync(request, info -> new Limited(maxBody));
      HttpResponse<byte[]> r;
      try {
        r = f.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        f.cancel(true);
        throw new HttpTimeoutException("the CA did not send its whole answer within " + deadline.toSeconds() + " s");
      } catch (ExecutionException e) {
        throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
      }
      HttpResponse.BodySubscriber<T> sub = handler.apply(new Info(r));
      sub.onSubscribe(new Replay(sub, r.body()));
      try {
        T body = sub.getBody().toCompletableFuture().get(deadline.toMillis(), TimeUnit.MILLISECONDS);
        return new Response<>(r, body);
      } catch (ExecutionException | TimeoutException e) {
        throw new IOException("could not read the CA's answer: " + e, e);
      }
    }

    @Override
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
      throw new UnsupportedOperationException("the ACME client sends synchronously");
    }

    @Override
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                                            HttpResponse.PushPromiseHandler<T> push) {
      throw new UnsupportedOperationException("the ACME client sends synchronously");
    }

    @Override
    public Optional<CookieHandler> cookieHandler() {
      return delegate.cookieHandler();
    }

    @Override
    public Optional<Duration> connectTimeout() {
      return delegate.connectTimeout();
    }

    @Override
    public Redirect followRedirects() {
      return delegate.followRedirects();
    }

    @Override
    public Optional<ProxySelector> proxy() {
      return delegate.proxy();
    }

    @Override
    public SSLContext sslContext() {
      return delegate.sslContext();
    }

    @Override
    public SSLParameters sslParameters() {
      return delegate.sslParameters();
    }

    @Override
    public Optional<Authenticator> authenticator() {
      return delegate.authenticator();
    }

    @Override
    public Version version() {
      return delegate.version();
    }

    @Override
    public Optional<Executor> executor() {
      return delegate.executor();
    }
  }

  /** Collects a body up to {@code max} bytes; more cancels the exchange and fails it. */
  private static final class Limited implements HttpResponse.BodySubscriber<byte[]> {

    private final HttpResponse.BodySubscriber<byte[]> bytes = HttpResponse.BodySubscribers.ofByteArray();
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final int max;
    private long seen;
    private Flow.Subscription subscription;

    Limited(int max) {
      this.max = max;
      bytes.getBody().whenComplete((b, e) -> {
        if (e != null) {
          result.completeExceptionally(e);
        } else {
          result.complete(b);
        }
      });
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      bytes.onSubscribe(s);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      for (ByteBuffer b : items) {
        seen += b.remaining();
      }
      if (seen > max) {
        // failed first, so that the exchange fails with this reason rather than "cancelled"
        result.completeExceptionally(new IOException("the CA's answer is larger than " + (max >> 10) + " KiB"));
        subscription.cancel();
        return;
      }
      bytes.onNext(items);
    }

    @Override
    public void onError(Throwable t) {
      bytes.onError(t);
    }

    @Override
    public void onComplete() {
      bytes.onComplete();
    }
  }

  /** Hands a read body to a subscriber as it asks: the bytes on the first request, the end on the next. */
  private static final class Replay implements Flow.Subscription {

    private final HttpResponse.BodySubscriber<?> sub;
    private final byte[] body;
    private int step; // 0: body due, 1: end due, 2: done
    private boolean delivering;

    Replay(HttpResponse.BodySubscriber<?> sub, byte[] body) {
      this.sub = sub;
      this.body = body;
    }

    @Override
    public synchronized void request(long n) {
      if (delivering) {
        return; // asked again from inside onNext: answered when that returns
      }
      delivering = true;
      try {
        if (step == 0) {
          step = 1;
          sub.onNext(List.of(ByteBuffer.wrap(body)));
        } else if (step == 1) {
          step = 2;
          sub.onComplete();
        }
      } finally {
        delivering = false;
      }
    }

    @Override
    public synchronized void cancel() {
      step = 2;
    }
  }

  private record Info(HttpResponse<?> r) implements HttpResponse.ResponseInfo {
    @Override
    public int statusCode() {
      return r.statusCode();
    }

    @Override
    public HttpHeaders headers() {
      return r.headers();
    }

    @Override
    public HttpClient.Version version() {
      return r.version();
    }
  }

  private record Response<T>(HttpResponse<byte[]> r, T body) implements HttpResponse<T> {
    @Override
    public int statusCode() {
      return r.statusCode();
    }

    @Override
    public HttpRequest request() {
      return r.request();
    }

    @Override
    public Optional<HttpResponse<T>> previousResponse() {
      return Optional.empty();
    }

    @Override
    public HttpHeaders headers() {
      return r.headers();
    }

    @Override
    public Optional<SSLSession> sslSession() {
      return r.sslSession();
    }

    @Override
    public java.net.URI uri() {
      return r.uri();
    }

    @Override
    public HttpClient.Version version() {
      return r.version();
    }
  }

  private static final class Builder implements HttpClient.Builder {

    private final HttpClient.Builder b;
    private final Duration deadline;
    private final int maxBody;

    Builder(HttpClient.Builder b, Duration deadline, int maxBody) {
      this.b = b;
      this.deadline = deadline;
      this.maxBody = maxBody;
    }

    @Override
    public HttpClient.Builder cookieHandler(CookieHandler h) {
      b.cookieHandler(h);
      return this;
    }

    @Override
    public HttpClient.Builder connectTimeout(Duration d) {
      b.connectTimeout(d);
      return this;
    }

    @Override
    public HttpClient.Builder sslContext(SSLContext c) {
      b.sslContext(c);
      return this;
    }

    @Override
    public HttpClient.Builder sslParameters(SSLParameters p) {
      b.sslParameters(p);
      return this;
    }

    @Override
    public HttpClient.Builder executor(Executor e) {
      b.executor(e);
      return this;
    }

    @Override
    public HttpClient.Builder followRedirects(HttpClient.Redirect r) {
      b.followRedirects(r);
      return this;
    }

    @Override
    public HttpClient.Builder version(HttpClient.Version v) {
      b.version(v);
      return this;
    }

    @Override
    public HttpClient.Builder priority(int p) {
      b.priority(p);
      return this;
    }

    @Override
    public HttpClient.Builder proxy(ProxySelector p) {
      b.proxy(p);
      return this;
    }

    @Override
    public HttpClient.Builder authenticator(Authenticator a) {
      b.authenticator(a);
      return this;
    }

    @Override
    public HttpClient build() {
      return new Client(b.build(), deadline, maxBody);
    }
  }
}
