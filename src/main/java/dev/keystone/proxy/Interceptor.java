package dev.keystone.proxy;

/**
 * One concern of the request path (request id, access log, validation, routing, forwarding...).
 * The chain is a short list of these, run in order, as middleware in chi or interceptors in
 * OkHttp.
 *
 * <p>An interceptor runs on the event loop and must not block. It either answers the request
 * itself (usually through {@link Exchange#fail}) or passes it on with {@link Exchange#next()},
 * possibly later, from a callback. Extension point: scripting plugs in here.
 */
@FunctionalInterface
public interface Interceptor {

  void handle(Exchange exchange);
}
