//! The JSON writers, byte for byte like systemd's `--json=short` and `--json=pretty`.
//!
//! Measured on systemd-repart 262 (and `varlinkctl --json=pretty`):
//! * short: no whitespace at all: `[{"type":"home","partno":1,"file":null}]`;
//! * pretty: one tab per level, `"key" : value`, a newline after `[`/`{` and after each
//!   element's `,`, the closing bracket on its own line at the parent's indent; empty
//!   arrays and objects are `[]` and `{}`;
//! * strings: `"` and `\` are escaped, `\b \f \n \r \t` by name, other bytes below 0x20 as
//!   `\u00xx` in lower case; DEL (0x7f), `/` and all non-ASCII text are written as is.
//!
//! Both forms end without a newline; systemd-repart prints one after either.

use std::fmt::Write;

use super::{Number, NumberRepr, Value};

impl Value {
    /// The compact form (`--json=short`, Varlink messages), without a trailing newline.
    pub fn to_short(&self) -> String {
        let mut out = String::new();
        write_short(self, &mut out);
        out
    }

    /// The indented form (`--json=pretty`), without a trailing newline.
    pub fn to_pretty(&self) -> String {
        let mut out = String::new();
        write_pretty(self, 0, &mut out);
        out
    }
}

fn write_short(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_short(item, out);
            }
            out.push(']');
        }
        Value::Object(object) => {
            out.push('{');
            for (i, (key, item)) in object.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_short(item, out);
            }
            out.push('}');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_pretty(value: &Value, depth: usize, out: &mut String) {
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                indent(depth + 1, out);
                write_pretty(item, depth + 1, out);
                end_element(i + 1 == items.len(), out);
            }
            indent(depth, out);
            out.push(']');
        }
        Value::Object(object) if !object.is_empty() => {
            out.push_str("{\n");
            for (i, (key, item)) in object.iter().enumerate() {
                indent(depth + 1, out);
                write_string(key, out);
                out.push_str(" : ");
                write_pretty(item, depth + 1, out);
                end_element(i + 1 == object.len(), out);
            }
            indent(depth, out);
            out.push('}');
        }
        other => write_short(other, out),
    }
}

fn indent(depth: usize, out: &mut String) {
    out.extend(std::iter::repeat_n('\t', depth));
}

fn end_element(last: bool, out: &mut String) {
    out.push_str(if last { "\n" } else { ",\n" });
}

fn write_scalar(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(*n, out),
        Value::String(s) => write_string(s, out),
        // Containers are handled by the callers.
        Value::Array(_) | Value::Object(_) => write_short(value, out),
    }
}

fn write_number(number: Number, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = match number.0 {
        NumberRepr::Unsigned(u) => write!(out, "{u}"),
        NumberRepr::Negative(i) => write!(out, "{i}"),
        // `{:?}` is the shortest form that reads back to the same double and always has a
        // '.' or an exponent, so a float never turns into an integer on the way back.
        NumberRepr::Float(f) => write!(out, "{f:?}"),
    };
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::{Object, parse};
    use super::*;

    /// Two partitions as systemd-repart 262 printed them (values shortened), including a
    /// `null`, a nested array and the escapes it produced for odd file names.
    fn sample() -> Value {
        Value::Array(vec![
            Object::new()
                .with("type", "linux-generic")
                .with("partno", 0u64)
                .with("file", None::<&str>)
                .with("drop-in_files", None::<&str>)
                .into(),
            Object::new()
                .with("label", "x\tb")
                .with("file", "/d/10-a\u{1}b\tc\u{7f}d\u{1f}.conf")
                .with(
                    "drop-in_files",
                    Value::Array(vec!["/d/a.conf".into(), "/d/b\"q.conf".into()]),
                )
                .into(),
        ])
    }

    #[test]
    fn short_matches_systemd() {
        assert_eq!(
            sample().to_short(),
            "[{\"type\":\"linux-generic\",\"partno\":0,\"file\":null,\"drop-in_files\":null},\
             {\"label\":\"x\\tb\",\"file\":\"/d/10-a\\u0001b\\tc\u{7f}d\\u001f.conf\",\
             \"drop-in_files\":[\"/d/a.conf\",\"/d/b\\\"q.conf\"]}]"
        );
    }

    #[test]
    fn pretty_matches_systemd() {
        let want = "[\n\
            \t{\n\
            \t\t\"type\" : \"linux-generic\",\n\
            \t\t\"partno\" : 0,\n\
            \t\t\"file\" : null,\n\
            \t\t\"drop-in_files\" : null\n\
            \t},\n\
            \t{\n\
            \t\t\"label\" : \"x\\tb\",\n\
            \t\t\"file\" : \"/d/10-a\\u0001b\\tc\u{7f}d\\u001f.conf\",\n\
            \t\t\"drop-in_files\" : [\n\
            \t\t\t\"/d/a.conf\",\n\
            \t\t\t\"/d/b\\\"q.conf\"\n\
            \t\t]\n\
            \t}\n\
            ]";
        assert_eq!(sample().to_pretty(), want);
    }

    #[test]
    fn empty_containers_stay_on_one_line() {
        assert_eq!(Value::Array(vec![]).to_pretty(), "[]");
        assert_eq!(Value::Object(Object::new()).to_pretty(), "{}");
        let nested = Value::from(Object::new().with("a", Value::Array(vec![])));
        assert_eq!(nested.to_pretty(), "{\n\t\"a\" : []\n}");
    }

    #[test]
    fn escapes_like_systemd() {
        let s = Value::from("\"\\/\u{8}\u{c}\n\r\t\u{1b}\u{1a}ä€😀\u{7f}");
        assert_eq!(
            s.to_short(),
            "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u001b\\u001aä€😀\u{7f}\""
        );
    }

    #[test]
    fn numbers_round_trip() {
        for v in [
            Value::from(u64::MAX),
            Value::from(i64::MIN),
            Value::from(0u64),
            Value::Number(Number::from_f64(1.0).unwrap()),
            Value::Number(Number::from_f64(-0.1).unwrap()),
            Value::Number(Number::from_f64(1e300).unwrap()),
            Value::Number(Number::from_f64(5e-324).unwrap()),
        ] {
            let text = v.to_short();
            assert_eq!(parse(text.as_bytes()).unwrap(), v, "{text}");
        }
        assert_eq!(
            Value::Number(Number::from_f64(1.0).unwrap()).to_short(),
            "1.0"
        );
        assert_eq!(Value::from(-5i64).to_short(), "-5");
    }

    #[test]
    fn parse_then_write_round_trips() {
        let text = r#"{"method":"io.systemd.Repart.Run","parameters":{"node":"/dev/vda","definitions":["/a","/b"],"seed":null,"dryRun":true},"more":true}"#;
        assert_eq!(parse(text.as_bytes()).unwrap().to_short(), text);
    }
}
