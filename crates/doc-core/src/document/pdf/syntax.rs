//! A small, strict reader for the PDF object syntax (ISO 32000-1 §7.2–7.3).
//!
//! It reads exactly what the structural validator needs: numbers, names, strings,
//! arrays, dictionaries and indirect references, each from a given byte position.
//! It never searches for a "likely" position the way lenient readers do: if the
//! bytes at a position are not what the cross-reference table promises, that is
//! the corruption we are looking for.

use std::collections::BTreeMap;

/// Nesting deeper than this is refused, so a hostile file cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// A parsed PDF value. Strings keep no content: validation never needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Real,
    Str,
    Name(Vec<u8>),
    Array(Vec<Value>),
    Dict(Dict),
    Ref(u32, u16),
}

pub type Dict = BTreeMap<Vec<u8>, Value>;

impl Value {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Why the syntax at a position could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: usize,
    pub what: &'static str,
}

pub type Result<T> = std::result::Result<T, SyntaxError>;

fn err<T>(at: usize, what: &'static str) -> Result<T> {
    Err(SyntaxError { at, what })
}

pub fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn is_delimiter(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

fn is_regular(b: u8) -> bool {
    !is_whitespace(b) && !is_delimiter(b)
}

/// A cursor over the whole file. Positions are absolute byte offsets.
pub struct Cursor<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn at(data: &'a [u8], pos: usize) -> Self {
        Cursor { data, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Skips white space and comments.
    pub fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if is_whitespace(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Consumes `word` if it stands here as a whole token.
    pub fn eat_keyword(&mut self, word: &[u8]) -> bool {
        let end = self.pos + word.len();
        if self.data.get(self.pos..end) == Some(word) && self.data.get(end).is_none_or(|&b| !is_regular(b)) {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// Reads an unsigned decimal integer with no sign and no fraction.
    pub fn read_unsigned(&mut self) -> Result<u64> {
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or(SyntaxError {
                    at: start,
                    what: "number too large",
                })?;
            self.pos += 1;
        }
        if self.pos == start || self.peek().is_some_and(is_regular) {
            return err(start, "expected an unsigned integer");
        }
        Ok(value)
    }

    /// Reads `N G obj` and returns (N, G).
    pub fn read_object_header(&mut self) -> Result<(u32, u16)> {
        let start = self.pos;
        let num = self.read_unsigned()?;
        self.skip_space();
        let gen = self.read_unsigned()?;
        self.skip_space();
        if !self.eat_keyword(b"obj") {
            return err(start, "expected 'N G obj'");
        }
        match (u32::try_from(num), u16::try_from(gen)) {
            (Ok(n), Ok(g)) => Ok((n, g)),
            _ => err(start, "object number out of range"),
        }
    }

    /// Reads one value, including `N G R` references.
    pub fn read_value(&mut self) -> Result<Value> {
        self.read_value_at_depth(0)
    }

    fn read_value_at_depth(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return err(self.pos, "nesting too deep");
        }
        self.skip_space();
        let start = self.pos;
        match self.peek() {
            None => err(start, "unexpected end of file"),
            Some(b'/') => self.read_name().map(Value::Name),
            Some(b'(') => self.skip_literal_string().map(|_| Value::Str),
            Some(b'<') if self.data.get(start + 1) == Some(&b'<') => self.read_dict(depth).map(Value::Dict),
            Some(b'<') => self.skip_hex_string().map(|_| Value::Str),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Array(items));
                        }
                        None => return err(start, "unterminated array"),
                        _ => items.push(self.read_value_at_depth(depth + 1)?),
                    }
                }
            }
            Some(b'0'..=b'9' | b'+' | b'-' | b'.') => self.read_number_or_ref(),
            Some(_) => {
                if self.eat_keyword(b"true") {
                    Ok(Value::Bool(true))
                } else if self.eat_keyword(b"false") {
                    Ok(Value::Bool(false))
                } else if self.eat_keyword(b"null") {
                    Ok(Value::Null)
                } else {
                    err(start, "unexpected token")
                }
            }
        }
    }

    fn read_dict(&mut self, depth: usize) -> Result<Dict> {
        let start = self.pos;
        self.pos += 2;
        let mut dict = Dict::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'>') if self.data.get(self.pos + 1) == Some(&b'>') => {
                    self.pos += 2;
                    return Ok(dict);
                }
                Some(b'/') => {
                    let key = self.read_name()?;
                    let value = self.read_value_at_depth(depth + 1)?;
                    dict.insert(key, value);
                }
                None => return err(start, "unterminated dictionary"),
                Some(_) => return err(self.pos, "dictionary key is not a name"),
            }
        }
    }

    fn read_name(&mut self) -> Result<Vec<u8>> {
        self.pos += 1; // the solidus
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        Ok(self.data[start..self.pos].to_vec())
    }

    fn skip_literal_string(&mut self) -> Result<()> {
        let start = self.pos;
        self.pos += 1;
        let mut open = 1usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'\\' => self.pos += 1,
                b'(' => open += 1,
                b')' => {
                    open -= 1;
                    if open == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        err(start, "unterminated string")
    }

    fn skip_hex_string(&mut self) -> Result<()> {
        let start = self.pos;
        self.pos += 1;
        while let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'>' {
                return Ok(());
            }
            if !b.is_ascii_hexdigit() && !is_whitespace(b) {
                return err(start, "bad hex string");
            }
        }
        err(start, "unterminated hex string")
    }

    fn read_number_or_ref(&mut self) -> Result<Value> {
        let start = self.pos;
        let first = self.read_number_token()?;
        let Value::Int(num) = first else {
            return Ok(first);
        };
        // An integer may be the start of `N G R`; look ahead without committing.
        let after_first = self.pos;
        self.skip_space();
        if num >= 0 && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            if let Ok(gen) = self.read_unsigned() {
                self.skip_space();
                if self.eat_keyword(b"R") {
                    return match (u32::try_from(num), u16::try_from(gen)) {
                        (Ok(n), Ok(g)) => Ok(Value::Ref(n, g)),
                        _ => err(start, "reference out of range"),
                    };
                }
            }
        }
        self.pos = after_first;
        Ok(first)
    }

    fn read_number_token(&mut self) -> Result<Value> {
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        let token = &self.data[start..self.pos];
        let text = std::str::from_utf8(token).unwrap_or("");
        if let Ok(i) = text.parse::<i64>() {
            Ok(Value::Int(i))
        } else if !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+')
            && text.bytes().filter(|&b| b == b'.').count() <= 1
            && text.bytes().any(|b| b.is_ascii_digit())
        {
            Ok(Value::Real)
        } else {
            err(start, "bad number")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Value {
        Cursor::at(text.as_bytes(), 0).read_value().unwrap()
    }

    #[test]
    fn reads_scalars_and_references() {
        assert_eq!(value("42"), Value::Int(42));
        assert_eq!(value("-3"), Value::Int(-3));
        assert_eq!(value("3.5"), Value::Real);
        assert_eq!(value("12 0 R"), Value::Ref(12, 0));
        assert_eq!(value("/FlateDecode"), Value::Name(b"FlateDecode".to_vec()));
        assert_eq!(value("(a (nested) \\) string)"), Value::Str);
        assert_eq!(value("<48656C6C6F>"), Value::Str);
        assert_eq!(value("true"), Value::Bool(true));
        assert_eq!(value("null"), Value::Null);
    }

    #[test]
    fn comments_run_to_the_end_of_their_line() {
        let v = value("<< /A % a note\n 1 /B %another\r 2 >>");
        let Value::Dict(d) = v else { panic!("not a dict") };
        assert_eq!(d[&b"A"[..]], Value::Int(1));
        assert_eq!(d[&b"B"[..]], Value::Int(2));
    }

    #[test]
    fn a_dictionary_ends_only_at_two_angle_brackets() {
        let single = Cursor::at(b"<< /A 1 > /B 2 >>", 0).read_value().unwrap_err();
        assert_eq!(single.what, "dictionary key is not a name");
    }

    #[test]
    fn hex_strings_hold_hex_digits_and_white_space_only() {
        assert_eq!(value("<48 65\n6C>"), Value::Str);
        let bad = Cursor::at(b"<4g>", 0).read_value().unwrap_err();
        assert_eq!(bad.what, "bad hex string");
    }

    #[test]
    fn reals_take_a_sign_and_one_point() {
        for real in ["3.5", "-3.5", "+3.5", ".5", "-.002", "4."] {
            assert_eq!(value(real), Value::Real, "{real}");
        }
        assert!(Cursor::at(b"1.2.3", 0).read_value().is_err());
        assert!(Cursor::at(b"1x", 0).read_value().is_err());
        assert!(Cursor::at(b"-", 0).read_value().is_err());
    }

    #[test]
    fn nesting_is_capped_at_64_levels_of_arrays_and_dictionaries() {
        let arrays = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let dicts = |n: usize| format!("{}1{}", "<</A ".repeat(n), ">>".repeat(n));
        for nested in [arrays, dicts] {
            // Inside n levels, the 1 is read at depth n.
            assert!(Cursor::at(nested(64).as_bytes(), 0).read_value().is_ok());
            let deep = Cursor::at(nested(65).as_bytes(), 0).read_value().unwrap_err();
            assert_eq!(deep.what, "nesting too deep");
        }
    }

    #[test]
    fn nested_parentheses_stay_inside_a_string() {
        let mut c = Cursor::at(b"(a (b (c)) d) 7", 0);
        assert_eq!(c.read_value().unwrap(), Value::Str);
        assert_eq!(c.read_value().unwrap(), Value::Int(7));
        // An escaped parenthesis does not close the string.
        let mut c = Cursor::at(b"(a \\) b) 8", 0);
        assert_eq!(c.read_value().unwrap(), Value::Str);
        assert_eq!(c.read_value().unwrap(), Value::Int(8));
    }

    #[test]
    fn a_negative_number_never_starts_a_reference() {
        let mut c = Cursor::at(b"-1 0 R", 0);
        assert_eq!(c.read_value().unwrap(), Value::Int(-1));
        assert_eq!(c.read_value().unwrap(), Value::Int(0));
    }

    #[test]
    fn two_integers_are_not_a_reference() {
        let mut c = Cursor::at(b"[1 2 3]", 0);
        assert_eq!(
            c.read_value().unwrap(),
            Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
        );
    }

    #[test]
    fn reads_dictionaries() {
        let v = value("<</Length 3 0 R/Filter/FlateDecode/Kids[1 0 R 2 0 R]>>");
        let Value::Dict(d) = v else { panic!("not a dict") };
        assert_eq!(d[&b"Length"[..]], Value::Ref(3, 0));
        assert_eq!(d[&b"Filter"[..]], Value::Name(b"FlateDecode".to_vec()));
    }

    #[test]
    fn refuses_unterminated_and_deep_input() {
        assert!(Cursor::at(b"<</A 1", 0).read_value().is_err());
        assert!(Cursor::at(b"(abc", 0).read_value().is_err());
        // An array cut off is reported where it starts, not at the end.
        let cut = Cursor::at(b"  [1 2", 2).read_value().unwrap_err();
        assert_eq!((cut.at, cut.what), (2, "unterminated array"));
        let deep = "[".repeat(200);
        assert!(Cursor::at(deep.as_bytes(), 0).read_value().is_err());
    }

    #[test]
    fn object_header_must_match_exactly() {
        assert_eq!(Cursor::at(b"7 0 obj", 0).read_object_header().unwrap(), (7, 0));
        assert!(Cursor::at(b"7 0 objx", 0).read_object_header().is_err());
        assert!(Cursor::at(b"x7 0 obj", 0).read_object_header().is_err());
    }
}
