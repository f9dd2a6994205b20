package dev.keystone.script;

import java.util.Map;

/**
 * A backend as a routing script sees it: what {@code req.backends} lists and what
 * {@code route_to} picks from. The script package defines this view so it depends on nothing of
 * the gateway; the gateway's backends implement it, and a decision's candidates are the very
 * objects the request listed.
 */
public interface BackendView {

  String name();

  String url();

  int weight();

  Map<String, String> labels();

  /** Whether new requests may go to this backend now. */
  boolean healthy();
}
