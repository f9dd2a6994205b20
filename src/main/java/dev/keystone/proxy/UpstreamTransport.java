package dev.keystone.proxy;

/**
 * Forwarding, behind one interface: sends the exchange to the backend the chain chose (with the
 * retries {@link RetryRule} allows) and relays the answer to the exchange's {@link ResponseSink}.
 * The transport owns connections, pools, timers and body streaming.
 */
public interface UpstreamTransport {

  /** Forwards {@code ex}; every outcome ends in exactly one answer through the exchange. */
  void forward(Exchange ex);
}
