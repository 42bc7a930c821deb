//! PostgreSQL's binary wire forms of the values Spin's interface carries,
//! both ways, as plain functions: a column's bytes (as the server sends
//! them) into a [`Value`], and a parameter (a [`Value`] too) into the bytes the server
//! takes for the parameter's type. Written against the protocol's
//! documented forms (`numeric`, ranges, arrays, dates as days since
//! 2000-01-01...), so no date, decimal or JSON library is needed.

use super::{BoundKind, DataType, Interval, Value};
use tokio_postgres::types::{Kind, Type};

/// Days from 0000-03-01 (proleptic Gregorian) to 2000-01-01, PostgreSQL's epoch
/// (719,468 to 1970-01-01, and 10,957 more).
const EPOCH_DAYS: i64 = 730_425;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The interface's name for a column of type `ty`.
pub fn data_type(ty: &Type) -> DataType {
    match *ty {
        Type::BOOL => DataType::Boolean,
        Type::BYTEA => DataType::Binary,
        Type::FLOAT4 => DataType::Floating32,
        Type::FLOAT8 => DataType::Floating64,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DataType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DataType::Datetime,
        Type::DATE => DataType::Date,
        Type::TIME => DataType::Time,
        Type::UUID => DataType::Uuid,
        Type::JSONB => DataType::Jsonb,
        Type::NUMERIC => DataType::Decimal,
        Type::INT4_RANGE => DataType::RangeInt32,
        Type::INT8_RANGE => DataType::RangeInt64,
        Type::NUM_RANGE => DataType::RangeDecimal,
        Type::INT4_ARRAY => DataType::ArrayInt32,
        Type::INT8_ARRAY => DataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DataType::ArrayStr,
        Type::INTERVAL => DataType::Interval,
        _ => DataType::Other(ty.name().to_string()),
    }
}

fn take<const N: usize>(raw: &[u8], at: &mut usize) -> Result<[u8; N], String> {
    let bytes = raw
        .get(*at..*at + N)
        .ok_or_else(|| "the value is shorter than its type".to_string())?;
    *at += N;
    Ok(bytes.try_into().unwrap_or([0; N]))
}

fn exact<const N: usize>(raw: &[u8]) -> Result<[u8; N], String> {
    raw.try_into()
        .map_err(|_| format!("expected {N} bytes, the server sent {}", raw.len()))
}

/// A column's value from its binary form (`None`: SQL NULL).
pub fn decode(ty: &Type, raw: Option<&[u8]>) -> Result<Value, String> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    Ok(match *ty {
        Type::BOOL => Value::Boolean(exact::<1>(raw)?[0] != 0),
        Type::INT2 => Value::Int16(i16::from_be_bytes(exact(raw)?)),
        Type::INT4 => Value::Int32(i32::from_be_bytes(exact(raw)?)),
        Type::INT8 => Value::Int64(i64::from_be_bytes(exact(raw)?)),
        Type::FLOAT4 => Value::Floating32(f32::from_be_bytes(exact(raw)?)),
        Type::FLOAT8 => Value::Floating64(f64::from_be_bytes(exact(raw)?)),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Value::Str(text(raw)?),
        Type::BYTEA => Value::Binary(raw.to_vec()),
        Type::DATE => Value::Date(civil(i64::from(i32::from_be_bytes(exact(raw)?)))?),
        Type::TIME => Value::Time(time_of_day(i64::from_be_bytes(exact(raw)?))?),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let micros = i64::from_be_bytes(exact(raw)?);
            let (year, month, day) = civil(micros.div_euclid(MICROS_PER_DAY))?;
            let (hour, minute, second, nanos) = time_of_day(micros.rem_euclid(MICROS_PER_DAY))?;
            Value::Datetime((year, month, day, hour, minute, second, nanos))
        }
        Type::UUID => Value::Uuid(uuid_text(&exact::<16>(raw)?)),
        Type::JSONB => match raw.split_first() {
            Some((1, json)) => Value::Jsonb(json.to_vec()),
            _ => return Err("jsonb of an unknown version".into()),
        },
        Type::NUMERIC => Value::Decimal(numeric_text(raw)?),
        Type::INTERVAL => {
            let mut at = 0;
            let micros = i64::from_be_bytes(take(raw, &mut at)?);
            let days = i32::from_be_bytes(take(raw, &mut at)?);
            let months = i32::from_be_bytes(take(raw, &mut at)?);
            Value::Interval(Interval { micros, days, months })
        }
        Type::INT4_RANGE => {
            let (lower, upper) = range(raw, |b| Ok(i32::from_be_bytes(exact(b)?)))?;
            Value::RangeInt32((lower, upper))
        }
        Type::INT8_RANGE => {
            let (lower, upper) = range(raw, |b| Ok(i64::from_be_bytes(exact(b)?)))?;
            Value::RangeInt64((lower, upper))
        }
        Type::NUM_RANGE => Value::RangeDecimal(range(raw, numeric_text)?),
        Type::INT4_ARRAY => Value::ArrayInt32(array(raw, |b| Ok(i32::from_be_bytes(exact(b)?)))?),
        Type::INT8_ARRAY => Value::ArrayInt64(array(raw, |b| Ok(i64::from_be_bytes(exact(b)?)))?),
        Type::NUMERIC_ARRAY => Value::ArrayDecimal(array(raw, numeric_text)?),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => Value::ArrayStr(array(raw, text)?),
        _ => Value::Unsupported(raw.to_vec()),
    })
}

fn text(raw: &[u8]) -> Result<String, String> {
    String::from_utf8(raw.to_vec()).map_err(|e| e.to_string())
}

/// (year, month, day) of `days` after 2000-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> Result<(i32, u8, u8), String> {
    let z = days + EPOCH_DAYS;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let year = i32::try_from(year).map_err(|_| "a date out of range".to_string())?;
    Ok((year, month as u8, day as u8))
}

/// Days after 2000-01-01 of (year, month, day) (`days_from_civil`).
fn days(year: i32, month: u8, day: u8) -> Result<i64, String> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(format!("{year}-{month}-{day} is not a date"));
    }
    let (month, day) = (i64::from(month), i64::from(day));
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok(era * 146_097 + doe - EPOCH_DAYS)
}

fn time_of_day(micros: i64) -> Result<(u8, u8, u8, u32), String> {
    if !(0..=MICROS_PER_DAY).contains(&micros) {
        return Err("a time of day out of range".into());
    }
    let seconds = micros / 1_000_000;
    Ok((
        (seconds / 3600) as u8,
        (seconds / 60 % 60) as u8,
        (seconds % 60) as u8,
        (micros % 1_000_000) as u32 * 1000,
    ))
}

fn micros_of_day((hour, minute, second, nanos): (u8, u8, u8, u32)) -> Result<i64, String> {
    if hour > 23 || minute > 59 || second > 60 || nanos >= 1_000_000_000 {
        return Err(format!("{hour}:{minute}:{second}.{nanos} is not a time of day"));
    }
    Ok(((i64::from(hour) * 60 + i64::from(minute)) * 60 + i64::from(second)) * 1_000_000 + i64::from(nanos / 1000))
}

fn uuid_text(bytes: &[u8; 16]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn uuid_bytes(text: &str) -> Result<[u8; 16], String> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let invalid = || format!("invalid UUID {text}");
    if hex.len() != 32 {
        return Err(invalid());
    }
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(invalid)?, 16).map_err(|_| invalid())?;
    }
    Ok(bytes)
}

/// `numeric`'s binary form (base-10000 digits, a weight, a sign and a
/// display scale) as its decimal text.
fn numeric_text(raw: &[u8]) -> Result<String, String> {
    let mut at = 0;
    let ndigits = i16::from_be_bytes(take(raw, &mut at)?);
    let weight = i16::from_be_bytes(take(raw, &mut at)?);
    let sign = u16::from_be_bytes(take(raw, &mut at)?);
    let scale = u16::from_be_bytes(take(raw, &mut at)?);
    let digits = (0..ndigits.max(0))
        .map(|_| take::<2>(raw, &mut at).map(i16::from_be_bytes))
        .collect::<Result<Vec<_>, _>>()?;
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    // Group i stands for digits[i] × 10000^(weight - i).
    let group = |i: i32| {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0)
    };
    let weight = i32::from(weight);
    let whole = if weight < 0 {
        "0".to_string()
    } else {
        let mut whole = group(0).to_string();
        for i in 1..=weight {
            whole.push_str(&format!("{:04}", group(i)));
        }
        whole
    };
    let mut fraction = String::new();
    let mut i = weight + 1;
    while fraction.len() < usize::from(scale) {
        fraction.push_str(&format!("{:04}", group(i)));
        i += 1;
    }
    fraction.truncate(usize::from(scale));
    let negative = sign == 0x4000;
    Ok(match (negative, fraction.is_empty()) {
        (true, true) => format!("-{whole}"),
        (true, false) => format!("-{whole}.{fraction}"),
        (false, true) => whole,
        (false, false) => format!("{whole}.{fraction}"),
    })
}

/// Decimal text (`-12.5`, `0.001`, `1e3` not allowed, `NaN`) as
/// `numeric`'s binary form.
fn numeric_bytes(text: &str) -> Result<Vec<u8>, String> {
    let invalid = || format!("invalid decimal {text}");
    let header = |ndigits: i16, weight: i16, sign: u16, scale: u16| {
        let mut out = Vec::with_capacity(8 + 2 * ndigits.max(0) as usize);
        out.extend_from_slice(&ndigits.to_be_bytes());
        out.extend_from_slice(&weight.to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&scale.to_be_bytes());
        out
    };
    if text == "NaN" {
        return Ok(header(0, 0, 0xC000, 0));
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if (whole.is_empty() && fraction.is_empty()) || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let scale = u16::try_from(fraction.len()).map_err(|_| invalid())?;
    // Whole digits padded on the left, fraction on the right, to groups of four.
    let whole = whole.trim_start_matches('0');
    let pad_left = (4 - whole.len() % 4) % 4;
    let pad_right = (4 - fraction.len() % 4) % 4;
    let all = format!("{}{whole}{fraction}{}", "0".repeat(pad_left), "0".repeat(pad_right));
    let whole_groups = (whole.len() + pad_left) / 4;
    let mut groups: Vec<i16> = all
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).ok().and_then(|s| s.parse().ok()).unwrap_or(0))
        .collect();
    let mut weight = whole_groups as i32 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let ndigits = i16::try_from(groups.len()).map_err(|_| invalid())?;
    let weight = i16::try_from(weight).map_err(|_| invalid())?;
    let mut out = header(ndigits, weight, if negative { 0x4000 } else { 0 }, scale);
    for group in groups {
        out.extend_from_slice(&group.to_be_bytes());
    }
    Ok(out)
}

type Bound<T> = Option<(T, BoundKind)>;

/// A range's binary form: flags, then each finite bound's length and bytes.
fn range<T>(raw: &[u8], element: impl Fn(&[u8]) -> Result<T, String>) -> Result<(Bound<T>, Bound<T>), String> {
    let mut at = 0;
    let [flags] = take::<1>(raw, &mut at)?;
    if flags & 0x01 != 0 {
        // Empty: Spin gives it as two open ends too.
        return Ok((None, None));
    }
    let mut bound = |infinite: u8, inclusive: u8| -> Result<Bound<T>, String> {
        if flags & infinite != 0 {
            return Ok(None);
        }
        let length = i32::from_be_bytes(take(raw, &mut at)?);
        let bytes = raw
            .get(at..at + length.max(0) as usize)
            .ok_or("a range bound is shorter than it says")?;
        at += length.max(0) as usize;
        let kind = if flags & inclusive != 0 {
            BoundKind::Inclusive
        } else {
            BoundKind::Exclusive
        };
        Ok(Some((element(bytes)?, kind)))
    };
    let lower = bound(0x08, 0x02)?;
    let upper = bound(0x10, 0x04)?;
    Ok((lower, upper))
}

fn range_bytes<T>(
    (lower, upper): &(Bound<T>, Bound<T>),
    element: impl Fn(&T) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let mut flags = 0u8;
    let mut body = Vec::new();
    for (bound, infinite, inclusive) in [(lower, 0x08, 0x02), (upper, 0x10, 0x04)] {
        match bound {
            None => flags |= infinite,
            Some((value, kind)) => {
                if *kind == BoundKind::Inclusive {
                    flags |= inclusive;
                }
                let bytes = element(value)?;
                body.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                body.extend_from_slice(&bytes);
            }
        }
    }
    let mut out = vec![flags];
    out.extend_from_slice(&body);
    Ok(out)
}

/// A one-dimensional array's elements (an empty array has no dimension).
fn array<T>(raw: &[u8], element: impl Fn(&[u8]) -> Result<T, String>) -> Result<Vec<Option<T>>, String> {
    let mut at = 0;
    let dimensions = i32::from_be_bytes(take(raw, &mut at)?);
    let _has_nulls = i32::from_be_bytes(take(raw, &mut at)?);
    let _element_type = u32::from_be_bytes(take(raw, &mut at)?);
    if dimensions == 0 {
        return Ok(Vec::new());
    }
    if dimensions != 1 {
        return Err(format!("arrays of {dimensions} dimensions are not supported"));
    }
    let length = i32::from_be_bytes(take(raw, &mut at)?);
    let _lower_bound = i32::from_be_bytes(take(raw, &mut at)?);
    let mut values = Vec::with_capacity(length.clamp(0, 4096) as usize);
    for _ in 0..length.max(0) {
        let size = i32::from_be_bytes(take(raw, &mut at)?);
        if size < 0 {
            values.push(None);
            continue;
        }
        let bytes = raw
            .get(at..at + size as usize)
            .ok_or("an array element is shorter than it says")?;
        at += size as usize;
        values.push(Some(element(bytes)?));
    }
    Ok(values)
}

fn array_bytes<T>(
    values: &[Option<T>],
    element_type: &Type,
    element: impl Fn(&T) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&i32::from(values.iter().any(Option::is_none)).to_be_bytes());
    out.extend_from_slice(&element_type.oid().to_be_bytes());
    out.extend_from_slice(&(values.len() as i32).to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    for value in values {
        match value {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(value) => {
                let bytes = element(value)?;
                out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                out.extend_from_slice(&bytes);
            }
        }
    }
    Ok(out)
}

/// Whether a parameter of this kind may be sent for a parameter of type
/// `ty`, as the client library's own types decide (an `int32` is an
/// `int4`, a `str` any text...).
pub fn accepts(parameter: &Value, ty: &Type) -> bool {
    let element = match ty.kind() {
        Kind::Array(element) => Some(element),
        _ => None,
    };
    match parameter {
        Value::Null => true,
        Value::Boolean(_) => *ty == Type::BOOL,
        Value::Int8(_) => *ty == Type::CHAR,
        Value::Int16(_) => *ty == Type::INT2,
        Value::Int32(_) => *ty == Type::INT4,
        Value::Int64(_) => *ty == Type::INT8,
        Value::Floating32(_) => *ty == Type::FLOAT4,
        Value::Floating64(_) => *ty == Type::FLOAT8,
        Value::Str(_) => {
            matches!(
                *ty,
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
            ) || matches!(ty.kind(), Kind::Enum(_))
        }
        Value::Binary(_) => *ty == Type::BYTEA,
        Value::Date(_) => *ty == Type::DATE,
        Value::Time(_) => *ty == Type::TIME,
        Value::Datetime(_) => matches!(*ty, Type::TIMESTAMP | Type::TIMESTAMPTZ),
        Value::Timestamp(_) => matches!(*ty, Type::TIMESTAMP | Type::TIMESTAMPTZ),
        Value::Uuid(_) => *ty == Type::UUID,
        Value::Jsonb(_) => matches!(*ty, Type::JSONB | Type::JSON),
        Value::Decimal(_) => *ty == Type::NUMERIC,
        Value::RangeInt32(_) => *ty == Type::INT4_RANGE,
        Value::RangeInt64(_) => *ty == Type::INT8_RANGE,
        Value::RangeDecimal(_) => *ty == Type::NUM_RANGE,
        Value::ArrayInt32(_) => element == Some(&Type::INT4),
        Value::ArrayInt64(_) => element == Some(&Type::INT8),
        Value::ArrayDecimal(_) => element == Some(&Type::NUMERIC),
        Value::ArrayStr(_) => element.is_some_and(|e| matches!(*e, Type::TEXT | Type::VARCHAR | Type::BPCHAR)),
        Value::Interval(_) => *ty == Type::INTERVAL,
        Value::Unsupported(_) => false,
    }
}

/// A parameter's binary form for type `ty` (`None`: SQL NULL).
pub fn encode(parameter: &Value, ty: &Type) -> Result<Option<Vec<u8>>, String> {
    let decimal = |d: &String| numeric_bytes(d);
    Ok(Some(match parameter {
        Value::Null => return Ok(None),
        Value::Boolean(b) => vec![u8::from(*b)],
        Value::Int8(i) => i.to_be_bytes().to_vec(),
        Value::Int16(i) => i.to_be_bytes().to_vec(),
        Value::Int32(i) => i.to_be_bytes().to_vec(),
        Value::Int64(i) => i.to_be_bytes().to_vec(),
        Value::Floating32(f) => f.to_be_bytes().to_vec(),
        Value::Floating64(f) => f.to_be_bytes().to_vec(),
        Value::Str(s) => s.as_bytes().to_vec(),
        Value::Binary(b) => b.clone(),
        Value::Date((year, month, day)) => {
            let days = i32::try_from(days(*year, *month, *day)?).map_err(|_| "a date out of range")?;
            days.to_be_bytes().to_vec()
        }
        Value::Time(time) => micros_of_day(*time)?.to_be_bytes().to_vec(),
        Value::Datetime((year, month, day, hour, minute, second, nanos)) => {
            let micros = days(*year, *month, *day)?
                .checked_mul(MICROS_PER_DAY)
                .and_then(|m| m.checked_add(micros_of_day((*hour, *minute, *second, *nanos)).ok()?))
                .ok_or("a date and time out of range")?;
            micros.to_be_bytes().to_vec()
        }
        Value::Timestamp(seconds) => {
            // Seconds since the Unix epoch, as Spin takes them.
            let micros = seconds
                .checked_sub(946_684_800)
                .and_then(|s| s.checked_mul(1_000_000))
                .ok_or("a timestamp out of range")?;
            micros.to_be_bytes().to_vec()
        }
        Value::Uuid(text) => uuid_bytes(text)?.to_vec(),
        Value::Jsonb(json) => {
            if *ty == Type::JSON {
                json.clone()
            } else {
                let mut out = vec![1];
                out.extend_from_slice(json);
                out
            }
        }
        Value::Decimal(d) => numeric_bytes(d)?,
        Value::RangeInt32(range) => range_bytes(range, |i| Ok(i.to_be_bytes().to_vec()))?,
        Value::RangeInt64(range) => range_bytes(range, |i| Ok(i.to_be_bytes().to_vec()))?,
        Value::RangeDecimal(range) => range_bytes(range, decimal)?,
        Value::ArrayInt32(values) => array_bytes(values, &Type::INT4, |i| Ok(i.to_be_bytes().to_vec()))?,
        Value::ArrayInt64(values) => array_bytes(values, &Type::INT8, |i| Ok(i.to_be_bytes().to_vec()))?,
        Value::ArrayDecimal(values) => array_bytes(values, &Type::NUMERIC, decimal)?,
        Value::ArrayStr(values) => {
            let element = match ty.kind() {
                Kind::Array(element) => element.clone(),
                _ => Type::TEXT,
            };
            array_bytes(values, &element, |s| Ok(s.as_bytes().to_vec()))?
        }
        Value::Interval(interval) => {
            let mut out = interval.micros.to_be_bytes().to_vec();
            out.extend_from_slice(&interval.days.to_be_bytes());
            out.extend_from_slice(&interval.months.to_be_bytes());
            out
        }
        Value::Unsupported(_) => return Err("an unsupported value is not a parameter".into()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_2000() {
        assert_eq!(civil(0), Ok((2000, 1, 1)));
        assert_eq!(civil(-1), Ok((1999, 12, 31)));
        assert_eq!(civil(60), Ok((2000, 3, 1)), "2000 is a leap year");
        for (y, m, d) in [(2525, 12, 25), (1901, 1, 2), (1989, 11, 24), (1, 1, 1), (2024, 2, 29)] {
            assert_eq!(civil(days(y, m, d).unwrap()), Ok((y, m, d)));
        }
        assert!(days(2024, 13, 1).is_err());
        assert_eq!(time_of_day(14_706_789_000), Ok((4, 5, 6, 789_000_000)));
        assert_eq!(micros_of_day((14, 15, 16, 17_000_000)), Ok(51_316_017_000));
    }

    fn numeric_round_trip(text: &str) -> String {
        numeric_text(&numeric_bytes(text).unwrap()).unwrap()
    }

    #[test]
    fn numerics_keep_their_digits_and_scale() {
        for text in [
            "0",
            "1",
            "-1",
            "10000",
            "123456789.123456789",
            "0.123456789",
            "0.0001",
            "0.00001",
            "-1234.56",
            "456789012345.789123",
            "100",
            "1.50",
            "NaN",
        ] {
            assert_eq!(numeric_round_trip(text), text);
        }
        assert_eq!(numeric_round_trip("007.5"), "7.5");
        assert!(numeric_bytes("1e3").is_err());
        assert!(numeric_bytes("").is_err());
        assert!(numeric_bytes("-").is_err());
        // The server's own form of 0.123456789: ndigits 3, weight -1, scale 9.
        let server = [0, 3, 255, 255, 0, 0, 0, 9, 4, 210, 22, 46, 35, 40];
        assert_eq!(numeric_text(&server).unwrap(), "0.123456789");
    }

    #[test]
    fn uuids_ranges_and_arrays_round_trip() {
        let text = "12345678-1234-1234-1234-123456789abc";
        assert_eq!(uuid_text(&uuid_bytes(text).unwrap()), text);
        assert!(uuid_bytes("nope").is_err());
        let r = (Some((30, BoundKind::Exclusive)), Some((12341234, BoundKind::Inclusive)));
        let bytes = range_bytes(&r, |i: &i32| Ok(i.to_be_bytes().to_vec())).unwrap();
        assert_eq!(range(&bytes, |b| Ok(i32::from_be_bytes(exact(b)?))).unwrap(), r);
        let open: (Bound<i64>, Bound<i64>) = (Some((5, BoundKind::Inclusive)), None);
        let bytes = range_bytes(&open, |i: &i64| Ok(i.to_be_bytes().to_vec())).unwrap();
        assert_eq!(range(&bytes, |b| Ok(i64::from_be_bytes(exact(b)?))).unwrap(), open);
        let values = vec![Some("a".to_string()), None, Some("mum".into())];
        let bytes = array_bytes(&values, &Type::TEXT, |s| Ok(s.as_bytes().to_vec())).unwrap();
        assert_eq!(array(&bytes, text_of).unwrap(), values);
        let empty = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23];
        assert_eq!(array(&empty, |b| Ok(i32::from_be_bytes(exact(b)?))).unwrap(), vec![]);
    }

    fn text_of(raw: &[u8]) -> Result<String, String> {
        text(raw)
    }

    #[test]
    fn values_decode_by_their_column_type() {
        assert_eq!(decode(&Type::INT2, Some(&[0, 7])), Ok(Value::Int16(7)));
        assert_eq!(decode(&Type::TEXT, None), Ok(Value::Null));
        assert_eq!(decode(&Type::JSONB, Some(b"\x01{}")), Ok(Value::Jsonb(b"{}".to_vec())));
        assert_eq!(
            decode(&Type::TIMESTAMP, Some(&(-318_812_277_000_000i64).to_be_bytes())),
            Ok(Value::Datetime((1989, 11, 24, 1, 2, 3, 0)))
        );
        assert!(matches!(decode(&Type::POINT, Some(&[1, 2])), Ok(Value::Unsupported(_))));
        assert!(decode(&Type::INT4, Some(&[1])).is_err());
        assert!(accepts(&Value::Int32(1), &Type::INT4));
        assert!(!accepts(&Value::Int32(1), &Type::INT8));
        assert!(accepts(&Value::Null, &Type::VARCHAR));
        assert!(accepts(&Value::ArrayStr(vec![]), &Type::TEXT_ARRAY));
        assert_eq!(encode(&Value::Null, &Type::TEXT), Ok(None));
    }
}
