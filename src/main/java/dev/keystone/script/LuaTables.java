package dev.keystone.script;

import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/** Java values as the Lua tables scripts read. */
final class LuaTables {

  private LuaTables() {
  }

  /**
   * {@code s} as a Lua string, the same bytes as {@link LuaValue#valueOf(String)} gives. That one
   * copies the text to a char array and encodes it char by char, the largest cost of building a
   * request's table (a profile of the scripted tenant under load); ASCII text, which is nearly
   * all that requests carry, is copied as it is instead.
   */
  @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): the low byte of each char, which is ASCII here
  static LuaString string(String s) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      if (s.charAt(i) >= 0x80) {
        return LuaString.valueOf(s);
      }
    }
    byte[] b = new byte[n];
    s.getBytes(0, n, b, 0);
    return LuaString.valueUsing(b);
  }

  /** A table whose string keys are looked up ignoring case (HTTP header names). */
  static final class CaseInsensitive extends LuaTable {
    CaseInsensitive(int expected) {
      super(0, expected);
    }

    @Override
    public LuaValue get(LuaValue key) {
      return super.get(key.isstring() ? LuaValue.valueOf(key.tojstring().toLowerCase(Locale.ROOT)) : key);
    }

    @Override
    public void set(LuaValue key, LuaValue value) {
      super.set(key.isstring() ? LuaValue.valueOf(key.tojstring().toLowerCase(Locale.ROOT)) : key, value);
    }
  }

  /** Header name (any case) to its first value; the rest through {@code req.header_values}. */
  static LuaTable headers(Iterable<Map.Entry<String, String>> headers) {
    LuaTable t = new CaseInsensitive(headers instanceof java.util.Collection<?> c ? c.size() : 0);
    for (Map.Entry<String, String> h : headers) {
      LuaValue key = string(h.getKey().toLowerCase(Locale.ROOT));
      if (t.rawget(key).isnil()) {
        t.rawset(key, string(h.getValue()));
      }
    }
    return t;
  }

  static LuaTable strings(Map<String, String> map) {
    LuaTable t = new LuaTable();
    map.forEach((k, v) -> t.rawset(k, LuaValue.valueOf(v)));
    return t;
  }

  static LuaTable backend(BackendView b) {
    LuaTable t = new LuaTable();
    t.rawset("name", LuaValue.valueOf(b.name()));
    t.rawset("url", LuaValue.valueOf(b.url()));
    t.rawset("healthy", LuaValue.valueOf(b.healthy()));
    t.rawset("weight", LuaValue.valueOf(b.weight()));
    t.rawset("labels", strings(b.labels()));
    return t;
  }

  /** {@code a=1&b=x%20y} as {a="1", b="x y"}; a repeated name keeps its first value. */
  static LuaTable query(String query) {
    LuaTable t = new LuaTable();
    if (query == null || query.isEmpty()) {
      return t;
    }
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String k = decode(eq < 0 ? pair : pair.substring(0, eq));
      String v = eq < 0 ? "" : decode(pair.substring(eq + 1));
      if (t.rawget(k).isnil()) {
        t.rawset(k, LuaValue.valueOf(v));
      }
    }
    return t;
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s; // a bad %-escape: give the script the raw text
    }
  }
}
