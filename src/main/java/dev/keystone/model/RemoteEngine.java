package dev.keystone.model;

import java.time.Duration;
import java.util.List;

/** A script engine process the gateway asks over the engine protocol: its addresses and deadline. */
public record RemoteEngine(List<String> urls, Duration timeout) {

  public RemoteEngine {
    urls = List.copyOf(urls);
  }
}
