package dev.keystone.config;

import dev.keystone.script.LuaScript;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The value streams of {@link ConfigCodec}: strings and compiled scripts as indexes into tables
 * (written before the values that use them), the rest as {@link ConfigBytes} varints.
 */
final class CodecStreams {

  private CodecStreams() {
  }

  /** Writes values into a growing array; strings and scripts as indexes into tables written first. */
  static final class Out {
    private final ConfigBytes.Writer body = new ConfigBytes.Writer();
    private final Map<String, Integer> strings = new HashMap<>();
    private final List<String> stringTable = new ArrayList<>();
    private final Map<LuaScript, Integer> scripts = new IdentityHashMap<>();
    private final List<LuaScript> scriptTable = new ArrayList<>();

    Out integer(int v) {
      body.varint(v);
      return this;
    }

    Out number(long v) {
      body.varlong(v);
      return this;
    }

    Out bool(boolean v) {
      body.varint(v ? 1 : 0);
      return this;
    }

    /** Null is index 0. */
    Out string(String s) {
      if (s == null) {
        body.varint(0);
        return this;
      }
      Integer i = strings.get(s);
      if (i == null) {
        stringTable.add(s);
        i = stringTable.size();
        strings.put(s, i);
      }
      body.varint(i);
      return this;
    }

    Out strings(List<String> list) {
      body.varint(list.size());
      for (String s : list) {
        string(s);
      }
      return this;
    }

    /** Null is -1. */
    Out duration(Duration d) {
      if (d == null) {
        body.varlong(-1);
      } else {
        body.varlong(d.getSeconds());
        body.varint(d.getNano());
      }
      return this;
    }

    /** A script's index; where it first appears, followed by its name and file. */
    void script(LuaScript s) {
      if (s == null) {
        body.varint(0);
        return;
      }
      Integer i = scripts.get(s);
      if (i != null) {
        body.varint(i);
        return;
      }
      scriptTable.add(s);
      i = scriptTable.size();
      scripts.put(s, i);
      body.varint(i);
      string(s.name());
      string(s.chunkName());
    }

    byte[] finish() {
      ConfigBytes.Writer all = new ConfigBytes.Writer();
      all.varint(stringTable.size());
      for (String s : stringTable) {
        all.utf8(s);
      }
      all.varint(scriptTable.size());
      all.bytes(body.toArray());
      return all.toArray();
    }
  }

  static final class In {
    private final ConfigBytes.Reader r;
    private final String[] strings;
    private final LuaScript[] scripts;
    private final Map<String, byte[]> files;

    In(ConfigBytes.Reader r, Map<String, byte[]> files) {
      this.r = r;
      this.files = files;
      int n = r.count();
      strings = new String[n + 1];
      for (int i = 1; i <= n; i++) {
        strings[i] = r.utf8();
      }
      scripts = new LuaScript[r.count() + 1];
      if (r.count() != r.remaining()) { // the body is all that is left
        throw new IllegalArgumentException("the config's length does not match");
      }
    }

    int integer() {
      return r.varint();
    }

    long number() {
      return r.varlong();
    }

    boolean bool() {
      int v = r.varint();
      if (v != 0 && v != 1) {
        throw new IllegalArgumentException("not a boolean: " + v);
      }
      return v == 1;
    }

    String string() {
      return strings[r.varint()];
    }

    List<String> strings() {
      int n = r.count();
      List<String> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(string());
      }
      return out;
    }

    Duration duration() {
      long seconds = r.varlong();
      return seconds == -1 ? null : Duration.ofSeconds(seconds, r.varint());
    }

    /** A script is written where it first appears, by name and file; compiled again from the checked bytes. */
    LuaScript script() throws LuaScript.SyntaxError {
      int i = r.varint();
      if (i == 0) {
        return null;
      }
      if (scripts[i] == null) {
        String name = string();
        scripts[i] = compile(name, string());
      }
      return scripts[i];
    }

    private LuaScript compile(String name, String chunk) throws LuaScript.SyntaxError {
      byte[] source;
      if (chunk.startsWith("classpath:")) {
        try (java.io.InputStream s = ConfigCodec.class.getResourceAsStream(chunk.substring("classpath:".length()))) {
          if (s == null) {
            throw new LuaScript.SyntaxError("no " + chunk + " in the jar");
          }
          source = s.readAllBytes();
        } catch (java.io.IOException e) {
          throw new LuaScript.SyntaxError("cannot read " + chunk);
        }
      } else {
        source = files.get(chunk);
        if (source == null) {
          throw new LuaScript.SyntaxError("the cache names " + chunk + ", which its inputs did not check");
        }
      }
      return LuaScript.compile(name, chunk, new String(source, java.nio.charset.StandardCharsets.UTF_8));
    }

    void end() {
      if (r.remaining() != 0) {
        throw new IllegalArgumentException(r.remaining() + " bytes left after the config");
      }
    }
  }
}
