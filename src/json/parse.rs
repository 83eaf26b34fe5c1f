//! The JSON parser: bytes in, a [`Value`] or the byte offset of the first problem out.
//!
//! Strict RFC 8259 with a few deliberate restrictions for untrusted input (Varlink peers):
//! the input and the nesting depth are bounded ([`Limits`]), strings must be valid UTF-8
//! with no unpaired surrogate and no NUL (systemd's JSON does not allow NUL in strings
//! either), object keys must be unique, and numbers that overflow a double are rejected.
//! Integers without fraction or exponent are kept exactly when they fit `u64` or `i64`.
//!
//! Memory: a [`Value`] is 32 bytes and every value takes at least two input bytes (`0,`),
//! so the parsed tree takes at most about 32 bytes per input byte including vector growth,
//! plus the string contents: `max_bytes` bounds it (128 MiB for the 4 MiB default; use a
//! smaller limit where that matters).

use std::fmt;

use super::{Number, Object, Value};
use crate::error::{Error, ErrorKind};

/// Bounds on what the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest input, in bytes.
    pub max_bytes: usize,
    /// The deepest nesting of arrays and objects (`[]` is depth 1). Values above
    /// [`Limits::DEPTH_CEILING`] are treated as that ceiling, to keep the recursion within
    /// any thread's stack.
    pub max_depth: usize,
}

impl Limits {
    /// 4 MiB of input, 64 levels of nesting: far more than any message repart exchanges.
    pub const DEFAULT: Limits = Limits {
        max_bytes: 4 << 20,
        max_depth: 64,
    };

    /// The hard upper bound on nesting, whatever `max_depth` says.
    pub const DEPTH_CEILING: usize = 1024;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// Why and where the input is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    offset: usize,
    reason: &'static str,
}

impl ParseError {
    /// The byte offset of the first byte that could not be accepted.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What was wrong there.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Error {
        Error::new(ErrorKind::Corrupt, e.to_string())
    }
}

/// Parses one JSON value (surrounded by optional whitespace) with [`Limits::DEFAULT`].
pub fn parse(input: &[u8]) -> Result<Value, ParseError> {
    parse_with(input, Limits::DEFAULT)
}

/// Parses one JSON value (surrounded by optional whitespace) within `limits`.
pub fn parse_with(input: &[u8], limits: Limits) -> Result<Value, ParseError> {
    if input.len() > limits.max_bytes {
        return Err(ParseError {
            offset: limits.max_bytes,
            reason: "input larger than the limit",
        });
    }
    let mut parser = Parser {
        input,
        pos: 0,
        max_depth: limits.max_depth.min(Limits::DEPTH_CEILING),
    };
    parser.skip_whitespace();
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < input.len() {
        return Err(parser.error("trailing data after the value"));
    }
    Ok(value)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> ParseError {
        ParseError {
            offset: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes `byte` or fails with `reason`.
    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), ParseError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            Some(_) => Err(self.error("expected a value")),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, ParseError> {
        let end = self.pos.saturating_add(word.len());
        if self.input.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(value)
        } else {
            Err(self.error("invalid literal"))
        }
    }

    fn enter(&self, depth: usize) -> Result<(), ParseError> {
        if depth > self.max_depth {
            Err(self.error("nesting deeper than the limit"))
        } else {
            Ok(())
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.enter(depth)?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.enter(depth)?;
        self.pos += 1; // '{'
        let mut entries = Vec::new();
        let mut key_offsets = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(Object::new()));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            key_offsets.push(self.pos);
            let key = self.string()?;
            self.skip_whitespace();
            self.expect(b':', "expected ':'")?;
            self.skip_whitespace();
            let value = self.value(depth)?;
            entries.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
        if let Some(offset) = first_duplicate_key(&entries, &key_offsets) {
            return Err(ParseError {
                offset,
                reason: "duplicate object key",
            });
        }
        Ok(Value::Object(Object::from_unique_entries(entries)))
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.pos += 1; // opening '"'
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            // A run ends at an ASCII byte, so it never splits a UTF-8 sequence.
            let run = self.input.get(run_start..self.pos).unwrap_or_default();
            match std::str::from_utf8(run) {
                Ok(text) => out.push_str(text),
                Err(e) => {
                    return Err(ParseError {
                        offset: run_start + e.valid_up_to(),
                        reason: "invalid UTF-8 in string",
                    });
                }
            }
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => out.push(self.escape()?),
                Some(_) => return Err(self.error("control character in string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// Decodes the escape at `pos` (the backslash), including surrogate pairs.
    fn escape(&mut self) -> Result<char, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let Some(kind) = self.peek() else {
            return Err(self.error("unterminated string"));
        };
        self.pos += 1;
        let c = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xd800..=0xdbff => {
                        if self.input.get(self.pos..self.pos.saturating_add(2)) != Some(b"\\u") {
                            return Err(ParseError {
                                offset: start,
                                reason: "unpaired surrogate",
                            });
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(ParseError {
                                offset: start,
                                reason: "unpaired surrogate",
                            });
                        }
                        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => {
                        return Err(ParseError {
                            offset: start,
                            reason: "unpaired surrogate",
                        });
                    }
                    _ => unit,
                };
                if code == 0 {
                    return Err(ParseError {
                        offset: start,
                        reason: "NUL in string",
                    });
                }
                char::from_u32(code).ok_or(ParseError {
                    offset: start,
                    reason: "invalid \\u escape",
                })?
            }
            _ => {
                return Err(ParseError {
                    offset: start,
                    reason: "invalid escape",
                });
            }
        };
        Ok(c)
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut value = 0u32;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| self.error("expected four hex digits"))?;
            value = (value << 4) | digit;
            self.pos += 1;
        }
        Ok(value)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Number, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("expected a digit")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("expected a digit after '.'"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        // The grammar above admits ASCII only.
        let text = std::str::from_utf8(self.input.get(start..self.pos).unwrap_or_default())
            .unwrap_or_default();
        if integer {
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Number::from(u));
            }
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Number::from(i));
            }
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .ok_or(ParseError {
                offset: start,
                reason: "number out of range",
            })
    }
}

/// The offset of a key that repeats an earlier one, if any; `O(n log n)`.
fn first_duplicate_key(entries: &[(String, Value)], offsets: &[usize]) -> Option<usize> {
    let mut keys: Vec<(&str, usize)> = entries
        .iter()
        .map(|(key, _)| key.as_str())
        .zip(offsets.iter().copied())
        .collect();
    keys.sort_unstable();
    keys.windows(2)
        .filter_map(|pair| match pair {
            [(a, _), (b, offset)] if a == b => Some(*offset),
            _ => None,
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &[u8]) -> (usize, &'static str) {
        let e = parse(input).expect_err("input must be rejected");
        (e.offset(), e.reason())
    }

    #[test]
    fn parses_every_kind_of_value() {
        let v = parse(b" {\"a\": [1, -2, 3.5, true, false, null, \"s\"], \"b\": {}} ").unwrap();
        let a = v.get("a").and_then(Value::as_array).unwrap();
        assert_eq!(a[0].as_u64(), Some(1));
        assert_eq!(a[1].as_i64(), Some(-2));
        assert_eq!(a[2].as_f64(), Some(3.5));
        assert_eq!(a[3].as_bool(), Some(true));
        assert_eq!(a[4].as_bool(), Some(false));
        assert!(a[5].is_null());
        assert_eq!(a[6].as_str(), Some("s"));
        assert_eq!(
            v.get("b").and_then(Value::as_object).map(Object::len),
            Some(0)
        );
        assert_eq!(parse(b"[]").unwrap(), Value::Array(vec![]));
    }

    #[test]
    fn integers_are_exact_at_the_edges() {
        assert_eq!(
            parse(b"18446744073709551615").unwrap().as_u64(),
            Some(u64::MAX)
        );
        assert_eq!(
            parse(b"-9223372036854775808").unwrap().as_i64(),
            Some(i64::MIN)
        );
        assert_eq!(parse(b"-0").unwrap().as_u64(), Some(0));
        // Beyond the integer ranges: a double, like systemd.
        let big = parse(b"18446744073709551616").unwrap();
        assert_eq!(big.as_u64(), None);
        assert_eq!(big.as_f64(), Some(18446744073709551616.0));
        assert_eq!(parse(b"-9223372036854775809").unwrap().as_i64(), None);
        assert_eq!(parse(b"1e2").unwrap().as_u64(), None);
        assert_eq!(parse(b"1E-2").unwrap().as_f64(), Some(0.01));
    }

    #[test]
    fn rejects_malformed_numbers() {
        assert_eq!(err(b"01"), (1, "trailing data after the value"));
        assert_eq!(err(b"-"), (1, "expected a digit"));
        assert_eq!(err(b"1."), (2, "expected a digit after '.'"));
        assert_eq!(err(b"1e+"), (3, "expected a digit in the exponent"));
        assert_eq!(err(b"+1"), (0, "expected a value"));
        assert_eq!(err(b"1e999"), (0, "number out of range"));
        assert_eq!(err(b".5"), (0, "expected a value"));
    }

    #[test]
    fn decodes_escapes_and_surrogate_pairs() {
        let v = parse(br#""a\"\\\/\b\f\n\r\t\u00e4\u20AC\ud83d\ude00""#).unwrap();
        assert_eq!(v.as_str(), Some("a\"\\/\u{8}\u{c}\n\r\tä€😀"));
        let raw = "\"ä€😀\"";
        assert_eq!(parse(raw.as_bytes()).unwrap().as_str(), Some("ä€😀"));
    }

    #[test]
    fn rejects_bad_strings_with_offsets() {
        assert_eq!(err(br#""ab\ud800""#), (3, "unpaired surrogate"));
        assert_eq!(err(br#""\ud800\u0041""#), (1, "unpaired surrogate"));
        assert_eq!(err(br#""\udc00""#), (1, "unpaired surrogate"));
        assert_eq!(err(br#""\u0000""#), (1, "NUL in string"));
        assert_eq!(err(br#""\u12G4""#), (5, "expected four hex digits"));
        assert_eq!(err(br#""\x""#), (1, "invalid escape"));
        assert_eq!(err(b"\"a\tb\""), (2, "control character in string"));
        assert_eq!(err(b"\"ab\xff\""), (3, "invalid UTF-8 in string"));
        assert_eq!(err(b"\"ab\xc3\""), (3, "invalid UTF-8 in string"));
        assert_eq!(err(b"\"\xed\xa0\x80\""), (1, "invalid UTF-8 in string"));
        assert_eq!(err(b"\"abc"), (4, "unterminated string"));
        assert_eq!(err(b"\"abc\\"), (5, "unterminated string"));
    }

    #[test]
    fn rejects_bad_structure_with_offsets() {
        assert_eq!(err(b""), (0, "unexpected end of input"));
        assert_eq!(err(b"   "), (3, "unexpected end of input"));
        assert_eq!(err(b"[1,]"), (3, "expected a value"));
        assert_eq!(err(b"[1 2]"), (3, "expected ',' or ']'"));
        assert_eq!(err(b"{\"a\" 1}"), (5, "expected ':'"));
        assert_eq!(err(b"{1:2}"), (1, "expected a string key"));
        assert_eq!(err(b"{\"a\":1,}"), (7, "expected a string key"));
        assert_eq!(err(b"{\"a\":1"), (6, "expected ',' or '}'"));
        assert_eq!(err(b"tru"), (0, "invalid literal"));
        assert_eq!(err(b"nulll"), (4, "trailing data after the value"));
        assert_eq!(err(b"{} {}"), (3, "trailing data after the value"));
        assert_eq!(err(b"\xef\xbb\xbf{}"), (0, "expected a value"));
        assert_eq!(err(b"{}\0"), (2, "trailing data after the value"));
    }

    #[test]
    fn rejects_duplicate_keys() {
        assert_eq!(err(br#"{"b":1,"a":2,"b":3}"#), (13, "duplicate object key"));
        assert!(parse(br#"{"a":{"a":1},"b":{"a":2}}"#).is_ok());
    }

    #[test]
    fn bounds_depth_and_size() {
        let limits = Limits {
            max_bytes: 64,
            max_depth: 3,
        };
        assert!(parse_with(b"[[[1]]]", limits).is_ok());
        let e = parse_with(b"[[[[1]]]]", limits).unwrap_err();
        assert_eq!(
            (e.offset(), e.reason()),
            (3, "nesting deeper than the limit")
        );
        let e = parse_with(&[b' '; 65], limits).unwrap_err();
        assert_eq!(
            (e.offset(), e.reason()),
            (64, "input larger than the limit")
        );
        let deep = "[".repeat(100_000);
        let e = parse(deep.as_bytes()).unwrap_err();
        assert_eq!(e.offset(), 64);
        let huge = Limits {
            max_bytes: 1 << 20,
            max_depth: usize::MAX,
        };
        let e = parse_with(deep.as_bytes(), huge).unwrap_err();
        assert_eq!(e.offset(), Limits::DEPTH_CEILING);
    }

    #[test]
    fn values_stay_small_enough_for_the_memory_bound() {
        assert!(std::mem::size_of::<Value>() <= 32);
    }

    #[test]
    fn error_converts_to_a_corrupt_error() {
        let e: Error = parse(b"[").unwrap_err().into();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert_eq!(e.to_string(), "JSON at byte 1: unexpected end of input");
    }

    /// Random inputs over JSON's alphabet (xorshift, fixed seed): every one either parses
    /// and then survives a write/parse round trip, or fails with an offset inside the input.
    #[test]
    fn random_inputs_parse_or_fail_cleanly() {
        const ALPHABET: &[u8] = b"{}[],:\"\\/ntrfue0123456789.-+Eab \n\xc3\xa4\xff";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut parsed = 0;
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            match parse(&input) {
                Ok(value) => {
                    parsed += 1;
                    assert_eq!(parse(value.to_short().as_bytes()).as_ref(), Ok(&value));
                    assert_eq!(parse(value.to_pretty().as_bytes()).as_ref(), Ok(&value));
                }
                Err(e) => assert!(e.offset() <= input.len()),
            }
        }
        assert!(
            parsed > 100,
            "the generator reaches valid JSON too ({parsed})"
        );
    }

    #[test]
    fn never_panics_on_truncations_and_mutations() {
        let sample = br#"{"a":[1,-2.5e3,"x\u00e4\ud83d\ude00",{"b":null}],"c":true}"#;
        for end in 0..=sample.len() {
            let _ = parse(&sample[..end]);
        }
        for i in 0..sample.len() {
            for byte in [0u8, b'"', b'\\', b'{', b']', 0xff, b'u', b'9'] {
                let mut mutated = sample.to_vec();
                mutated[i] = byte;
                let _ = parse(&mutated);
            }
        }
        assert!(parse(sample).is_ok());
    }
}
