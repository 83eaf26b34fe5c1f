//! A minimal JSON value with a bounded parser and systemd-compatible writers.
//!
//! Used for `--json=short|pretty`, the `FactoryResetRequest` EFI variable and Varlink
//! messages (which come from untrusted peers). Objects keep their keys in insertion order,
//! because systemd prints fields in the order they were added. Integers round-trip exactly
//! over the whole `i64` and `u64` ranges.
//!
//! ```
//! use repart_rs::json::{self, Value};
//! let v = json::parse(br#"{"bootId":"0123","n":18446744073709551615}"#).unwrap();
//! assert_eq!(v.get("bootId").and_then(Value::as_str), Some("0123"));
//! assert_eq!(v.get("n").and_then(Value::as_u64), Some(u64::MAX));
//! assert_eq!(v.to_short(), r#"{"bootId":"0123","n":18446744073709551615}"#);
//! ```

mod parse;
mod write;

pub use parse::{Limits, ParseError, parse, parse_with};

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number: an exact integer or a finite double.
    Number(Number),
    /// A string (never contains NUL, see [`parse`]).
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, keys in insertion order.
    Object(Object),
}

/// A JSON number: exact for every `u64` and `i64`, a finite `f64` otherwise.
///
/// Non-negative integers are always stored as unsigned, so equal numbers compare equal
/// however they were made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number(NumberRepr);

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumberRepr {
    Unsigned(u64),
    /// Always negative.
    Negative(i64),
    /// Always finite.
    Float(f64),
}

impl Number {
    /// A finite double as a number; `None` for NaN and infinities, which JSON cannot hold.
    pub fn from_f64(value: f64) -> Option<Number> {
        value
            .is_finite()
            .then_some(Number(NumberRepr::Float(value)))
    }

    /// The value as `u64` if it is an integer in range.
    pub fn as_u64(self) -> Option<u64> {
        match self.0 {
            NumberRepr::Unsigned(u) => Some(u),
            _ => None,
        }
    }

    /// The value as `i64` if it is an integer in range.
    pub fn as_i64(self) -> Option<i64> {
        match self.0 {
            NumberRepr::Unsigned(u) => i64::try_from(u).ok(),
            NumberRepr::Negative(i) => Some(i),
            NumberRepr::Float(_) => None,
        }
    }

    /// The value as a double (integers beyond 2^53 lose precision).
    pub fn as_f64(self) -> f64 {
        match self.0 {
            NumberRepr::Unsigned(u) => u as f64,
            NumberRepr::Negative(i) => i as f64,
            NumberRepr::Float(f) => f,
        }
    }

    /// Whether the number was written or made as an integer.
    pub fn is_integer(self) -> bool {
        !matches!(self.0, NumberRepr::Float(_))
    }
}

impl From<u64> for Number {
    fn from(value: u64) -> Number {
        Number(NumberRepr::Unsigned(value))
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Number {
        match u64::try_from(value) {
            Ok(u) => Number(NumberRepr::Unsigned(u)),
            Err(_) => Number(NumberRepr::Negative(value)),
        }
    }
}

impl From<u32> for Number {
    fn from(value: u32) -> Number {
        Number::from(u64::from(value))
    }
}

impl From<i32> for Number {
    fn from(value: i32) -> Number {
        Number::from(i64::from(value))
    }
}

/// A JSON object: key/value pairs in insertion order, keys unique.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object {
    entries: Vec<(String, Value)>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object::default()
    }

    /// Sets `key` to `value`: replaces the value in place if the key exists, else appends.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Builder form of [`Object::insert`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Object {
        self.insert(key, value);
        self
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the object has no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Builds an object from pairs whose keys are already known to be unique (the parser
    /// checks that).
    fn from_unique_entries(entries: Vec<(String, Value)>) -> Object {
        Object { entries }
    }
}

impl Value {
    /// The value of `key` if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.get(key))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as `u64`, if this is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    /// The number as `i64`, if this is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The number as a double, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::as_f64)
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<Number> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Value {
        Value::Bool(value)
    }
}

impl From<Number> for Value {
    fn from(value: Number) -> Value {
        Value::Number(value)
    }
}

impl From<u64> for Value {
    fn from(value: u64) -> Value {
        Value::Number(value.into())
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Value {
        Value::Number(value.into())
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Value {
        Value::Number(value.into())
    }
}

impl From<i32> for Value {
    fn from(value: i32) -> Value {
        Value::Number(value.into())
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Value {
        Value::String(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Value {
        Value::String(value)
    }
}

impl From<Vec<Value>> for Value {
    fn from(value: Vec<Value>) -> Value {
        Value::Array(value)
    }
}

impl From<Object> for Value {
    fn from(value: Object) -> Value {
        Value::Object(value)
    }
}

/// `None` becomes `null`, as systemd prints absent optional fields.
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Value {
        value.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_normalise_so_equal_numbers_compare_equal() {
        assert_eq!(Number::from(5i64), Number::from(5u64));
        assert_eq!(Number::from(-1i64).as_u64(), None);
        assert_eq!(Number::from(-1i64).as_i64(), Some(-1));
        assert_eq!(Number::from(u64::MAX).as_i64(), None);
        assert_eq!(Number::from(i64::MAX as u64).as_i64(), Some(i64::MAX));
        assert!(Number::from_f64(f64::NAN).is_none());
        assert!(Number::from_f64(f64::INFINITY).is_none());
        assert_eq!(Number::from_f64(0.5).map(Number::as_f64), Some(0.5));
        assert!(!Number::from_f64(1.0).is_some_and(Number::is_integer));
    }

    #[test]
    fn objects_keep_insertion_order_and_replace_in_place() {
        let mut o = Object::new().with("b", 1u64).with("a", "x");
        o.insert("b", true);
        let keys: Vec<&str> = o.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(o.get("b"), Some(&Value::Bool(true)));
        assert_eq!(o.len(), 2);
        assert!(!o.is_empty());
        let v = Value::from(o);
        assert_eq!(v.get("a").and_then(Value::as_str), Some("x"));
        assert_eq!(v.get("missing"), None);
        assert_eq!(Value::from(3u64).get("a"), None);
    }

    #[test]
    fn options_become_null() {
        assert!(Value::from(None::<&str>).is_null());
        assert_eq!(Value::from(Some("x")), Value::String("x".into()));
    }
}
