package dev.keystone.config;

import java.net.URI;

/**
 * {@code state_store: redis://[:PASSWORD@]HOST:PORT[/DB]}: where instances of a cluster share
 * runtime state (rate-limit counters of {@code scope: cluster} rules). The URL is checked here;
 * whether Redis answers is the gateway's business at run time (it may come and go).
 */
final class StateStoreBinder {

  private StateStoreBinder() {
  }

  /** The URL as written, or null when there is none (or it is not valid: reported). */
  static String bind(Section root, Problems problems) {
    String url = root.string("state_store", null);
    if (url == null) {
      return null;
    }
    String problem = check(url);
    if (problem != null) {
      problems.add(root.keyPath("state_store"), problem);
      return null;
    }
    return url;
  }

  static String check(String url) {
    URI u;
    try {
      u = new URI(url);
    } catch (java.net.URISyntaxException e) {
      return "a URL such as redis://127.0.0.1:6379, got '" + url + "'";
    }
    if (!"redis".equals(u.getScheme()) || u.getHost() == null || u.getPort() < 1) {
      return "a URL such as redis://127.0.0.1:6379 (scheme redis, a host and a port), got '" + url + "'";
    }
    String path = u.getPath() == null ? "" : u.getPath();
    if (!path.isEmpty() && !path.matches("/([0-9]|1[0-5])?")) {
      return "the database in " + url + " is a number from 0 to 15";
    }
    if (u.getQuery() != null || u.getFragment() != null) {
      return "no query or fragment in " + url;
    }
    return null;
  }
}
