package dev.keystone.script;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;

import java.io.IOException;
import java.io.StringWriter;

/**
 * {@code json.encode(value)} and {@code json.decode(text)} for scripts. A table with keys 1..n is
 * an array, any other table an object; JSON null decodes to nil. Nesting is capped (a table that
 * contains itself would otherwise never end). Both pay as they go: each value written or read is
 * charged to the call's budget, and the output is held to the string limit while it is written,
 * not checked once it exists (a table of 40 nested pairs is 2^40 values; 300 references to one
 * 1 MiB string are 300 MiB). Tables are read raw: no metamethod runs inside the encoder.
 */
final class JsonCodec {

  static final int MAX_DEPTH = 64;
  private static final JsonFactory JSON = new JsonFactory();

  private JsonCodec() {
  }

  /** A writer that refuses to grow past the string limit (and the call's memory budget). */
  private static final class BoundedWriter extends StringWriter {
    @Override
    public void write(char[] cbuf, int off, int len) {
      Sandbox.checkLength((long) getBuffer().length() + len);
      super.write(cbuf, off, len);
    }

    @Override
    public void write(String str, int off, int len) {
      Sandbox.checkLength((long) getBuffer().length() + len);
      super.write(str, off, len);
    }

    @Override
    public void write(int c) {
      Sandbox.checkLength((long) getBuffer().length() + 1);
      super.write(c);
    }
  }

  static String encode(LuaValue v) {
    StringWriter out = new BoundedWriter();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      write(g, v, 0);
    } catch (IOException e) {
      throw new LuaError("json.encode: " + e.getMessage());
    }
    return out.toString();
  }

  private static void write(JsonGenerator g, LuaValue v, int depth) throws IOException {
    if (depth > MAX_DEPTH) {
      throw new LuaError("json.encode: nested deeper than " + MAX_DEPTH + " (a table containing itself?)");
    }
    Sandbox.charge(1);
    switch (v.type()) {
      case LuaValue.TNIL -> g.writeNull();
      case LuaValue.TBOOLEAN -> g.writeBoolean(v.toboolean());
      case LuaValue.TNUMBER -> {
        if (v.isint()) {
          g.writeNumber(v.toint());
        } else {
          g.writeNumber(v.todouble());
        }
      }
      case LuaValue.TSTRING -> {
        Sandbox.checkMemory(2L * v.checkstring().length()); // the Java string made to write it
        Sandbox.charge(v.checkstring().length() / 64);
        g.writeString(v.tojstring());
      }
      case LuaValue.TTABLE -> {
        LuaTable t = v.checktable();
        int n = t.rawlen();
        if (n > 0 || t.next(LuaValue.NIL).arg1().isnil()) {
          g.writeStartArray();
          for (int i = 1; i <= n; i++) {
            write(g, t.rawget(i), depth + 1);
          }
          g.writeEndArray();
        } else {
          g.writeStartObject();
          for (LuaValue k = t.next(LuaValue.NIL).arg1(); !k.isnil(); k = t.next(k).arg1()) {
            g.writeFieldName(k.tojstring());
            write(g, t.rawget(k), depth + 1);
          }
          g.writeEndObject();
        }
      }
      default -> throw new LuaError("json.encode: cannot encode a " + v.typename());
    }
  }

  static LuaValue decode(String text) {
    Sandbox.charge(text.length() / 64);
    try (JsonParser p = JSON.createParser(text)) {
      JsonToken first = p.nextToken();
      if (first == null) {
        throw new LuaError("json.decode: empty input");
      }
      LuaValue v = read(p, first, 0);
      if (p.nextToken() != null) {
        throw new LuaError("json.decode: unexpected content after the value");
      }
      return v;
    } catch (IOException e) {
      throw new LuaError("json.decode: " + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
  }

  private static LuaValue read(JsonParser p, JsonToken t, int depth) throws IOException {
    if (depth > MAX_DEPTH) {
      throw new LuaError("json.decode: nested deeper than " + MAX_DEPTH);
    }
    Sandbox.charge(1);
    switch (t) {
      case START_ARRAY -> {
        LuaTable a = new LuaTable();
        int i = 1;
        for (JsonToken n = p.nextToken(); n != JsonToken.END_ARRAY; n = p.nextToken()) {
          a.rawset(i++, read(p, n, depth + 1));
        }
        return a;
      }
      case START_OBJECT -> {
        LuaTable o = new LuaTable();
        for (JsonToken n = p.nextToken(); n != JsonToken.END_OBJECT; n = p.nextToken()) {
          String name = p.currentName();
          LuaValue value = read(p, p.nextToken(), depth + 1);
          if (!value.isnil()) {
            o.rawset(name, value);
          }
        }
        return o;
      }
      case VALUE_STRING -> {
        return LuaValue.valueOf(p.getText());
      }
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
        return LuaValue.valueOf(p.getDoubleValue());
      }
      case VALUE_TRUE -> {
        return LuaValue.TRUE;
      }
      case VALUE_FALSE -> {
        return LuaValue.FALSE;
      }
      case VALUE_NULL -> {
        return LuaValue.NIL;
      }
      default -> throw new LuaError("json.decode: unexpected " + t);
    }
  }
}
