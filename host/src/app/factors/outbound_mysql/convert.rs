//! MySQL's column types and values as Spin's interfaces carry them, both
//! ways, as plain functions following Spin's rules (its
//! `factor-outbound-mysql`): a column's type from the server's type and
//! flags, a row's values by their column's type, and a parameter as the
//! client sends it. Spin fails a query with a column of a type it has no
//! case for (`DECIMAL`, `DATE`, ...), unless the value is NULL; so does this.

use super::{DataType, Error, Value};
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::FromValue;

/// The interface's type for a column the server describes by `ty` and
/// `flags`: integers by width and sign, text and bytes by the binary flag,
/// everything else `other`. (Spin maps `VARCHAR` to `other` too: servers
/// describe such columns as `VAR_STRING` in result sets.)
pub fn data_type(ty: ColumnType, flags: ColumnFlags) -> DataType {
    use ColumnType::*;
    let signed = !flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = flags.contains(ColumnFlags::BINARY_FLAG);
    match ty {
        MYSQL_TYPE_DOUBLE => DataType::Floating64,
        MYSQL_TYPE_FLOAT => DataType::Floating32,
        MYSQL_TYPE_TINY if signed => DataType::Int8,
        MYSQL_TYPE_TINY => DataType::Uint8,
        MYSQL_TYPE_SHORT if signed => DataType::Int16,
        MYSQL_TYPE_SHORT => DataType::Uint16,
        MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG if signed => DataType::Int32,
        MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG => DataType::Uint32,
        MYSQL_TYPE_LONGLONG if signed => DataType::Int64,
        MYSQL_TYPE_LONGLONG => DataType::Uint64,
        MYSQL_TYPE_BLOB | MYSQL_TYPE_STRING | MYSQL_TYPE_VAR_STRING if binary => DataType::Binary,
        MYSQL_TYPE_BLOB | MYSQL_TYPE_STRING | MYSQL_TYPE_VAR_STRING => DataType::Str,
        _ => DataType::Other,
    }
}

/// A row's value in the column `name` of type `ty`.
pub fn value(raw: mysql_async::Value, name: &str, ty: &DataType) -> Result<Value, Error> {
    if raw == mysql_async::Value::NULL {
        return Ok(Value::Null);
    }
    Ok(match ty {
        DataType::Boolean => Value::Boolean(read(raw)?),
        DataType::Int8 => Value::Int8(read(raw)?),
        DataType::Int16 => Value::Int16(read(raw)?),
        DataType::Int32 => Value::Int32(read(raw)?),
        DataType::Int64 => Value::Int64(read(raw)?),
        DataType::Uint8 => Value::Uint8(read(raw)?),
        DataType::Uint16 => Value::Uint16(read(raw)?),
        DataType::Uint32 => Value::Uint32(read(raw)?),
        DataType::Uint64 => Value::Uint64(read(raw)?),
        DataType::Floating32 => Value::Floating32(read(raw)?),
        DataType::Floating64 => Value::Floating64(read(raw)?),
        DataType::Str => Value::Str(read(raw)?),
        DataType::Binary => Value::Binary(read(raw)?),
        DataType::Other => {
            return Err(Error::ValueConversionFailed(format!(
                "Cannot convert value {raw:?} in column {name} data type Other"
            )))
        }
    })
}

fn read<T: FromValue>(raw: mysql_async::Value) -> Result<T, Error> {
    mysql_async::from_value_opt(raw).map_err(|e| Error::ValueConversionFailed(e.to_string()))
}

/// A parameter as the client sends it: integers signed or not as given,
/// `boolean` as 0 or 1, text and bytes as bytes.
pub fn parameter(value: Value) -> Result<mysql_async::Value, Error> {
    use mysql_async::Value as M;
    Ok(match value {
        Value::Boolean(b) => M::Int(i64::from(b)),
        Value::Int8(i) => M::Int(i64::from(i)),
        Value::Int16(i) => M::Int(i64::from(i)),
        Value::Int32(i) => M::Int(i64::from(i)),
        Value::Int64(i) => M::Int(i),
        Value::Uint8(u) => M::UInt(u64::from(u)),
        Value::Uint16(u) => M::UInt(u64::from(u)),
        Value::Uint32(u) => M::UInt(u64::from(u)),
        Value::Uint64(u) => M::UInt(u),
        Value::Floating32(f) => M::Float(f),
        Value::Floating64(f) => M::Double(f),
        Value::Str(s) => M::Bytes(s.into_bytes()),
        Value::Binary(b) => M::Bytes(b),
        Value::Null => M::NULL,
        Value::Unsupported => {
            return Err(Error::ValueConversionFailed(
                "an unsupported value is not a parameter".into(),
            ))
        }
    })
}

/// What one value costs the host, about (the result's bound counts these).
pub fn size_of_value(value: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match value {
            Value::Str(s) => s.len(),
            Value::Binary(b) => b.len(),
            _ => 0,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_async::Value as M;

    #[test]
    fn column_types_are_named_as_spin_names_them() {
        let none = ColumnFlags::empty();
        let unsigned = ColumnFlags::UNSIGNED_FLAG;
        let binary = ColumnFlags::BINARY_FLAG;
        for (ty, flags, expected) in [
            (ColumnType::MYSQL_TYPE_TINY, none, DataType::Int8),
            (ColumnType::MYSQL_TYPE_TINY, unsigned, DataType::Uint8),
            (ColumnType::MYSQL_TYPE_SHORT, none, DataType::Int16),
            (ColumnType::MYSQL_TYPE_SHORT, unsigned, DataType::Uint16),
            (ColumnType::MYSQL_TYPE_INT24, none, DataType::Int32),
            (ColumnType::MYSQL_TYPE_LONG, unsigned, DataType::Uint32),
            (ColumnType::MYSQL_TYPE_LONGLONG, none, DataType::Int64),
            (ColumnType::MYSQL_TYPE_LONGLONG, unsigned, DataType::Uint64),
            (ColumnType::MYSQL_TYPE_FLOAT, none, DataType::Floating32),
            (ColumnType::MYSQL_TYPE_DOUBLE, unsigned, DataType::Floating64),
            (ColumnType::MYSQL_TYPE_BLOB, none, DataType::Str),
            (ColumnType::MYSQL_TYPE_BLOB, binary, DataType::Binary),
            (ColumnType::MYSQL_TYPE_VAR_STRING, none, DataType::Str),
            (ColumnType::MYSQL_TYPE_VAR_STRING, binary, DataType::Binary),
            (ColumnType::MYSQL_TYPE_STRING, binary, DataType::Binary),
            (ColumnType::MYSQL_TYPE_VARCHAR, none, DataType::Other),
            (ColumnType::MYSQL_TYPE_LONG_BLOB, binary, DataType::Other),
            (ColumnType::MYSQL_TYPE_NEWDECIMAL, none, DataType::Other),
            (ColumnType::MYSQL_TYPE_DATE, none, DataType::Other),
            (ColumnType::MYSQL_TYPE_YEAR, unsigned, DataType::Other),
        ] {
            assert_eq!(data_type(ty, flags), expected, "{ty:?} {flags:?}");
        }
    }

    #[test]
    fn values_are_read_by_their_columns_type() {
        assert_eq!(value(M::Int(-7), "a", &DataType::Int8), Ok(Value::Int8(-7)));
        assert_eq!(value(M::Int(300), "a", &DataType::Int16), Ok(Value::Int16(300)));
        assert_eq!(
            value(M::UInt(u64::MAX), "a", &DataType::Uint64),
            Ok(Value::Uint64(u64::MAX))
        );
        assert_eq!(
            value(M::Double(1.5), "a", &DataType::Floating64),
            Ok(Value::Floating64(1.5))
        );
        assert_eq!(
            value(M::Float(0.5), "a", &DataType::Floating32),
            Ok(Value::Floating32(0.5))
        );
        assert_eq!(
            value(M::Bytes(b"Rover".to_vec()), "a", &DataType::Str),
            Ok(Value::Str("Rover".into()))
        );
        assert_eq!(
            value(M::Bytes(vec![0, 255]), "a", &DataType::Binary),
            Ok(Value::Binary(vec![0, 255]))
        );
        assert_eq!(
            value(M::NULL, "a", &DataType::Other),
            Ok(Value::Null),
            "NULL in any column"
        );
        assert!(matches!(
            value(M::Int(300), "a", &DataType::Int8),
            Err(Error::ValueConversionFailed(_))
        ));
        assert!(matches!(
            value(M::Bytes(vec![0xff]), "a", &DataType::Str),
            Err(Error::ValueConversionFailed(_))
        ));
        assert_eq!(
            value(M::Bytes(b"12.50".to_vec()), "weight", &DataType::Other),
            Err(Error::ValueConversionFailed(
                "Cannot convert value Bytes(\"12.50\") in column weight data type Other".into()
            ))
        );
    }

    #[test]
    fn parameters_are_sent_as_the_client_sends_them() {
        assert_eq!(parameter(Value::Boolean(true)), Ok(M::Int(1)));
        assert_eq!(parameter(Value::Int8(-1)), Ok(M::Int(-1)));
        assert_eq!(parameter(Value::Uint32(7)), Ok(M::UInt(7)));
        assert_eq!(parameter(Value::Uint64(u64::MAX)), Ok(M::UInt(u64::MAX)));
        assert_eq!(parameter(Value::Floating32(0.5)), Ok(M::Float(0.5)));
        assert_eq!(parameter(Value::Floating64(0.25)), Ok(M::Double(0.25)));
        assert_eq!(parameter(Value::Str("é".into())), Ok(M::Bytes("é".as_bytes().to_vec())));
        assert_eq!(parameter(Value::Binary(vec![1])), Ok(M::Bytes(vec![1])));
        assert_eq!(parameter(Value::Null), Ok(M::NULL));
        assert!(parameter(Value::Unsupported).is_err());
    }

    #[test]
    fn a_values_size_counts_its_text_and_bytes() {
        let base = std::mem::size_of::<Value>();
        assert_eq!(size_of_value(&Value::Int64(1)), base);
        assert_eq!(size_of_value(&Value::Str("abc".into())), base + 3);
        assert_eq!(size_of_value(&Value::Binary(vec![0; 10])), base + 10);
    }
}
