//! Checking a call's parameters against a method's fields, in the order systemd's JSON
//! dispatch reports problems (measured on systemd-repart 262): first a known field with a
//! value of the wrong type (in the message's order), then a missing mandatory field (in the
//! method's order), then an unknown field (in the message's order). The caller checks the
//! values' meaning afterwards.

use crate::json::{Object, Value};

/// The JSON type a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string, or `null` for "not given".
    OptionalString,
    /// A boolean.
    Bool,
    /// A boolean, or `null` for "not given".
    OptionalBool,
    /// An array of strings (`null` is refused, as v262 does).
    StringArray,
    /// One of the listed strings.
    Enum(&'static [&'static str]),
    /// A string (not `null`).
    String,
}

impl Kind {
    fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            (Kind::OptionalString | Kind::OptionalBool, Value::Null) => true,
            (Kind::OptionalString | Kind::String, Value::String(_)) => true,
            (Kind::Bool | Kind::OptionalBool, Value::Bool(_)) => true,
            (Kind::StringArray, Value::Array(items)) => items.iter().all(|v| v.as_str().is_some()),
            (Kind::Enum(names), Value::String(s)) => names.contains(&s.as_str()),
            _ => false,
        }
    }
}

/// One parameter of a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub mandatory: bool,
}

/// The name of the first parameter that is not acceptable, if any.
pub fn check<'a>(parameters: &'a Object, fields: &[Field]) -> Option<&'a str> {
    let field = |name: &str| fields.iter().find(|f| f.name == name);
    for (name, value) in parameters.iter() {
        if field(name).is_some_and(|f| !f.kind.accepts(value)) {
            return Some(name);
        }
    }
    if let Some(missing) = fields
        .iter()
        .find(|f| f.mandatory && parameters.get(f.name).is_none())
    {
        return Some(missing.name);
    }
    parameters
        .iter()
        .map(|(name, _)| name)
        .find(|name| field(name).is_none())
}

/// The string value of `name`, if given and not `null` (after [`check`]).
pub fn string<'a>(parameters: &'a Object, name: &str) -> Option<&'a str> {
    parameters.get(name).and_then(Value::as_str)
}

/// The boolean value of `name`, if given and not `null` (after [`check`]).
pub fn boolean(parameters: &Object, name: &str) -> Option<bool> {
    parameters.get(name).and_then(Value::as_bool)
}

/// The strings of array `name`, if given (after [`check`]).
pub fn strings<'a>(parameters: &'a Object, name: &str) -> Option<Vec<&'a str>> {
    parameters
        .get(name)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    const FIELDS: &[Field] = &[
        Field {
            name: "node",
            kind: Kind::OptionalString,
            mandatory: false,
        },
        Field {
            name: "empty",
            kind: Kind::Enum(&["refuse", "allow"]),
            mandatory: true,
        },
        Field {
            name: "dryRun",
            kind: Kind::Bool,
            mandatory: true,
        },
        Field {
            name: "definitions",
            kind: Kind::StringArray,
            mandatory: false,
        },
        Field {
            name: "defer",
            kind: Kind::OptionalBool,
            mandatory: false,
        },
    ];

    fn first_bad(text: &str) -> Option<String> {
        let value = json::parse(text.as_bytes()).unwrap();
        check(value.as_object().unwrap(), FIELDS).map(str::to_owned)
    }

    /// Each case was answered so by v262's Run.
    #[test]
    fn reports_in_v262_order() {
        for (params, bad) in [
            (r#"{"empty":"allow","dryRun":true}"#, None),
            (
                r#"{"empty":"allow","dryRun":true,"node":null,"defer":null}"#,
                None,
            ),
            (r#"{"empty":"allow","dryRun":true,"definitions":[]}"#, None),
            (r#"{"empty":"allow"}"#, Some("dryRun")),
            (r#"{"dryRun":true}"#, Some("empty")),
            (r#"{}"#, Some("empty")),
            (r#"{"frob":1}"#, Some("empty")),
            (r#"{"frob":1,"empty":"allow"}"#, Some("dryRun")),
            (r#"{"frob":1,"empty":5,"dryRun":true}"#, Some("empty")),
            (
                r#"{"empty":"allow","dryRun":true,"frob":1,"node":5}"#,
                Some("node"),
            ),
            (
                r#"{"frob":1,"zzz":2,"empty":"allow","dryRun":true}"#,
                Some("frob"),
            ),
            (r#"{"empty":"bogus","dryRun":true}"#, Some("empty")),
            (r#"{"empty":null,"dryRun":true}"#, Some("empty")),
            (r#"{"empty":"allow","dryRun":"yes"}"#, Some("dryRun")),
            (r#"{"empty":"allow","dryRun":null}"#, Some("dryRun")),
            (
                r#"{"empty":"allow","dryRun":true,"definitions":null}"#,
                Some("definitions"),
            ),
            (
                r#"{"empty":"allow","dryRun":true,"definitions":"x"}"#,
                Some("definitions"),
            ),
            (
                r#"{"empty":"allow","dryRun":true,"definitions":["/a",1]}"#,
                Some("definitions"),
            ),
            (
                r#"{"empty":"allow","dryRun":true,"defer":1}"#,
                Some("defer"),
            ),
        ] {
            assert_eq!(first_bad(params).as_deref(), bad, "{params}");
        }
    }

    #[test]
    fn reads_checked_values() {
        let value = json::parse(br#"{"node":"/dev/vda","dryRun":false,"definitions":["/a","/b"]}"#)
            .unwrap();
        let p = value.as_object().unwrap();
        assert_eq!(string(p, "node"), Some("/dev/vda"));
        assert_eq!(boolean(p, "dryRun"), Some(false));
        assert_eq!(strings(p, "definitions"), Some(vec!["/a", "/b"]));
        assert_eq!(string(p, "seed"), None);
    }
}
