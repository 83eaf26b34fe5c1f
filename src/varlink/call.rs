//! Varlink messages: a method call read from the peer, and the replies and errors sent back,
//! with the rules systemd's sd-varlink applies (measured on systemd-repart 262).

use crate::json::{self, Limits, Object, Value};

use super::wire::MAX_MESSAGE;

/// The deepest JSON nesting accepted in a call (v262 refuses 70 levels; every parameter
/// repart-rs takes is at most 2 deep).
const MAX_DEPTH: usize = 32;

/// A method call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `interface.Method`.
    pub method: String,
    /// The parameters (an absent or `null` `parameters` is an empty object).
    pub parameters: Object,
    /// The caller wants a stream of replies.
    pub more: bool,
    /// The caller wants no reply at all.
    pub oneway: bool,
}

/// Parses a call. An error is a protocol violation: v262 closes the connection for any of
/// them (bad JSON, not an object, no method, unknown keys, non-boolean flags, `more` with
/// `oneway`). `upgrade` is accepted and ignored, as v262 does for methods that have none.
pub fn parse(message: &[u8]) -> Result<Call, String> {
    let limits = Limits {
        max_bytes: MAX_MESSAGE,
        max_depth: MAX_DEPTH,
    };
    let value = json::parse_with(message, limits).map_err(|e| e.to_string())?;
    let Value::Object(object) = value else {
        return Err("the message is not a JSON object".to_owned());
    };
    let mut method = None;
    let mut parameters = Object::new();
    let mut more = false;
    let mut oneway = false;
    for (key, value) in object.iter() {
        let flag = || {
            value
                .as_bool()
                .ok_or_else(|| format!("\"{key}\" is not a boolean"))
        };
        match key {
            "method" => {
                method = Some(
                    value
                        .as_str()
                        .ok_or("\"method\" is not a string")?
                        .to_owned(),
                )
            }
            "parameters" => match value {
                Value::Object(o) => parameters = o.clone(),
                Value::Null => {}
                _ => return Err("\"parameters\" is not an object".to_owned()),
            },
            "more" => more = flag()?,
            "oneway" => oneway = flag()?,
            "upgrade" => {
                flag()?;
            }
            other => return Err(format!("unknown key \"{other}\" in a call")),
        }
    }
    let method = method.ok_or("a call without \"method\"")?;
    if more && oneway {
        return Err("a call with both \"more\" and \"oneway\"".to_owned());
    }
    Ok(Call {
        method,
        parameters,
        more,
        oneway,
    })
}

/// A reply: `{"parameters":{...}}`, `{"parameters":{...},"continues":true}` for all but the
/// last of a stream, and just `{}` when there is nothing to say.
pub fn reply(parameters: Object, continues: bool) -> Value {
    let mut message = Object::new();
    if !parameters.is_empty() {
        message.insert("parameters", parameters);
    }
    if continues {
        message.insert("continues", true);
    }
    Value::Object(message)
}

/// An error reply: `{"error":"<name>","parameters":{...}}`, without `parameters` when there
/// are none.
pub fn error(name: &str, parameters: Object) -> Value {
    let mut message = Object::new().with("error", name);
    if !parameters.is_empty() {
        message.insert("parameters", parameters);
    }
    Value::Object(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_calls_as_sd_varlink_accepts_them() {
        let c = parse(br#" {"method":"a.B","parameters":{"x":1},"more":true,"upgrade":false} "#)
            .unwrap();
        assert_eq!(c.method, "a.B");
        assert_eq!(c.parameters.get("x").and_then(Value::as_u64), Some(1));
        assert!(c.more && !c.oneway);
        let c = parse(br#"{"method":"","parameters":null,"oneway":true}"#).unwrap();
        assert!(c.parameters.is_empty() && c.oneway && c.method.is_empty());
    }

    #[test]
    fn protocol_violations_are_refused() {
        for bad in [
            &b"{\"method\":"[..],
            b"[1]",
            b"{\"parameters\":{}}",
            b"{\"method\":5}",
            b"{\"method\":\"a.B\",\"parameters\":[]}",
            b"{\"method\":\"a.B\",\"more\":\"yes\"}",
            b"{\"method\":\"a.B\",\"more\":true,\"oneway\":true}",
            b"{\"method\":\"a.B\",\"frob\":true}",
            b"{\"method\":\"a.B\",\"method\":\"c.D\"}",
            b"\xff",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let deep = format!(
            "{{\"method\":\"a.B\",\"parameters\":{{\"x\":{}{}}}}}",
            "[".repeat(40),
            "]".repeat(40)
        );
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn replies_leave_out_what_is_empty() {
        assert_eq!(reply(Object::new(), false).to_short(), "{}");
        assert_eq!(
            reply(Object::new().with("phase", "placing"), true).to_short(),
            r#"{"parameters":{"phase":"placing"},"continues":true}"#
        );
        assert_eq!(
            error(
                "io.systemd.Repart.ConflictingDiskLabelPresent",
                Object::new()
            )
            .to_short(),
            r#"{"error":"io.systemd.Repart.ConflictingDiskLabelPresent"}"#
        );
        assert_eq!(
            error(
                "org.varlink.service.InvalidParameter",
                Object::new().with("parameter", "empty")
            )
            .to_short(),
            r#"{"error":"org.varlink.service.InvalidParameter","parameters":{"parameter":"empty"}}"#
        );
    }
}
