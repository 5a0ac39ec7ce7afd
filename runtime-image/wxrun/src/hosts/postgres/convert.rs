//! PostgreSQL values to and from the 4.0.0 interface types, with the
//! mapping Spin uses: a column's type picks the value case, a type without
//! a case is `unsupported` with the server's binary bytes, NULL is
//! `db-null` whatever the column's type.

use super::v4::{Bound, Column, DbDataType, DbValue, Interval, ParameterValue, RangeBoundKind};
use bytes::BytesMut;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use postgres_range::{BoundSided, BoundType, Normalizable, Range, RangeBound};
use rust_decimal::Decimal;
use std::error::Error as StdError;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

type BoxError = Box<dyn StdError + Sync + Send>;

/// The interface's columns for a statement's or a row's PostgreSQL columns.
pub fn columns(of: &[tokio_postgres::Column]) -> Vec<Column> {
    of.iter()
        .map(|c| Column {
            name: c.name().to_string(),
            data_type: data_type(c.type_()),
        })
        .collect()
}

/// The interface's type for a column of PostgreSQL type `ty`.
fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::BYTEA => DbDataType::Binary,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbDataType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_RANGE => DbDataType::RangeInt32,
        Type::INT8_RANGE => DbDataType::RangeInt64,
        Type::NUM_RANGE => DbDataType::RangeDecimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DbDataType::ArrayStr,
        Type::INTERVAL => DbDataType::Interval,
        _ => DbDataType::Other(ty.name().to_string()),
    }
}

/// Reads column `i` of `row` as a `T` and wraps it with `case`; NULL is
/// `db-null`.
fn read<'a, T: FromSql<'a>>(
    row: &'a Row,
    i: usize,
    case: impl FnOnce(T) -> Result<DbValue, BoxError>,
) -> Result<DbValue, BoxError> {
    match row.try_get::<_, Option<T>>(i)? {
        Some(v) => case(v),
        None => Ok(DbValue::DbNull),
    }
}

fn ok(v: DbValue) -> Result<DbValue, BoxError> {
    Ok(v)
}

/// Column `i` of `row` as an interface value.
pub fn value(row: &Row, i: usize) -> Result<DbValue, BoxError> {
    match *row.columns()[i].type_() {
        Type::BOOL => read(row, i, |v| ok(DbValue::Boolean(v))),
        Type::BYTEA => read(row, i, |v| ok(DbValue::Binary(v))),
        Type::FLOAT4 => read(row, i, |v| ok(DbValue::Floating32(v))),
        Type::FLOAT8 => read(row, i, |v| ok(DbValue::Floating64(v))),
        Type::INT2 => read(row, i, |v| ok(DbValue::Int16(v))),
        Type::INT4 => read(row, i, |v| ok(DbValue::Int32(v))),
        Type::INT8 => read(row, i, |v| ok(DbValue::Int64(v))),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => read(row, i, |v| ok(DbValue::Str(v))),
        Type::TIMESTAMP => read(row, i, |v| ok(DbValue::Datetime(datetime(v)))),
        // Spin reports both as UTC date-times without a zone.
        Type::TIMESTAMPTZ => read(row, i, |v: DateTime<Utc>| {
            ok(DbValue::Datetime(datetime(v.naive_utc())))
        }),
        Type::DATE => read(row, i, |v| ok(DbValue::Date(date(v)))),
        Type::TIME => read(row, i, |v| ok(DbValue::Time(time(v)))),
        Type::UUID => read(row, i, |v: uuid::Uuid| ok(DbValue::Uuid(v.to_string()))),
        Type::JSONB => read(row, i, |v: serde_json::Value| {
            Ok(DbValue::Jsonb(serde_json::to_vec(&v)?))
        }),
        Type::NUMERIC => read(row, i, |v: Decimal| ok(DbValue::Decimal(v.to_string()))),
        Type::INT4_RANGE => read(row, i, |v: Range<i32>| {
            ok(DbValue::RangeInt32(range_to_wit(v, |x| x)))
        }),
        Type::INT8_RANGE => read(row, i, |v: Range<i64>| {
            ok(DbValue::RangeInt64(range_to_wit(v, |x| x)))
        }),
        Type::NUM_RANGE => read(row, i, |v: Range<RangeDecimal>| {
            ok(DbValue::RangeDecimal(range_to_wit(v, |d| d.0.to_string())))
        }),
        Type::INT4_ARRAY => read(row, i, |v| ok(DbValue::ArrayInt32(v))),
        Type::INT8_ARRAY => read(row, i, |v| ok(DbValue::ArrayInt64(v))),
        Type::NUMERIC_ARRAY => read(row, i, |v: Vec<Option<Decimal>>| {
            ok(DbValue::ArrayDecimal(
                v.into_iter().map(|d| d.map(|d| d.to_string())).collect(),
            ))
        }),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => {
            read(row, i, |v| ok(DbValue::ArrayStr(v)))
        }
        Type::INTERVAL => read(row, i, |v: PgInterval| ok(DbValue::Interval(v.0))),
        _ => read(row, i, |v: Raw| ok(DbValue::Unsupported(v.0))),
    }
}

fn date(d: NaiveDate) -> (i32, u8, u8) {
    // Month and day always fit in a u8.
    (d.year(), d.month() as u8, d.day() as u8)
}

fn time(t: NaiveTime) -> (u8, u8, u8, u32) {
    (
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
        t.nanosecond(),
    )
}

fn datetime(dt: NaiveDateTime) -> (i32, u8, u8, u8, u8, u8, u32) {
    let (y, mo, d) = date(dt.date());
    let (h, mi, s, ns) = time(dt.time());
    (y, mo, d, h, mi, s, ns)
}

fn range_to_wit<T: PartialOrd + Normalizable + Copy, W>(
    range: Range<T>,
    f: impl Fn(T) -> W,
) -> (Bound<W>, Bound<W>) {
    fn kind(t: BoundType) -> RangeBoundKind {
        match t {
            BoundType::Inclusive => RangeBoundKind::Inclusive,
            BoundType::Exclusive => RangeBoundKind::Exclusive,
        }
    }
    // An empty range has no bounds either way (as in Spin).
    (
        range.lower().map(|b| (f(b.value), kind(b.type_))),
        range.upper().map(|b| (f(b.value), kind(b.type_))),
    )
}

/// Why a parameter could not be sent (Spin's messages).
fn invalid(what: &str, value: impl std::fmt::Display) -> String {
    format!("invalid {what} {value}")
}

fn date_param((y, m, d): (i32, u8, u8)) -> Result<NaiveDate, String> {
    NaiveDate::from_ymd_opt(y, m.into(), d.into())
        .ok_or_else(|| format!("invalid date y={y}, m={m}, d={d}"))
}

fn time_param((h, m, s, ns): (u8, u8, u8, u32)) -> Result<NaiveTime, String> {
    NaiveTime::from_hms_nano_opt(h.into(), m.into(), s.into(), ns)
        .ok_or_else(|| format!("invalid time {h}:{m}:{s}:{ns}"))
}

fn decimal_param(s: &str) -> Result<Decimal, String> {
    Decimal::from_str_exact(s).map_err(|_| invalid("decimal", s))
}

/// A range bound from the guest; a bound PostgreSQL would move past the
/// type's largest value is refused rather than overflowing.
fn bound_param<S: BoundSided, T: PartialOrd + Copy>(
    bound: Option<(T, RangeBoundKind)>,
    max: Option<T>,
) -> Result<Option<RangeBound<S, T>>, String> {
    let Some((value, kind)) = bound else {
        return Ok(None);
    };
    let type_ = match kind {
        RangeBoundKind::Inclusive => BoundType::Inclusive,
        RangeBoundKind::Exclusive => BoundType::Exclusive,
    };
    let moves = matches!(
        (S::side(), type_),
        (postgres_range::BoundSide::Upper, BoundType::Inclusive)
            | (postgres_range::BoundSide::Lower, BoundType::Exclusive)
    );
    if moves && Some(value) == max {
        return Err("range bound out of range".into());
    }
    Ok(Some(RangeBound::new(value, type_)))
}

fn range_param<T: PartialOrd + Normalizable + Copy>(
    (lower, upper): (Bound<T>, Bound<T>),
    max: Option<T>,
) -> Result<Range<T>, String> {
    Ok(Range::new(
        bound_param(lower, max)?,
        bound_param(upper, max)?,
    ))
}

/// A parameter as a value tokio-postgres can send; the error says why not.
pub fn param(p: &ParameterValue) -> Result<Box<dyn ToSql + Send + Sync>, String> {
    let boxed: Box<dyn ToSql + Send + Sync> = match p.clone() {
        ParameterValue::Boolean(v) => Box::new(v),
        ParameterValue::Int8(v) => Box::new(v),
        ParameterValue::Int16(v) => Box::new(v),
        ParameterValue::Int32(v) => Box::new(v),
        ParameterValue::Int64(v) => Box::new(v),
        ParameterValue::Floating32(v) => Box::new(v),
        ParameterValue::Floating64(v) => Box::new(v),
        ParameterValue::Str(v) => Box::new(v),
        ParameterValue::Binary(v) => Box::new(v),
        ParameterValue::Date(v) => Box::new(date_param(v)?),
        ParameterValue::Time(v) => Box::new(time_param(v)?),
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => Box::new(NaiveDateTime::new(
            date_param((y, mo, d))?,
            time_param((h, mi, s, ns))?,
        )),
        // Seconds since the epoch, as a `timestamptz`.
        ParameterValue::Timestamp(v) => Box::new(
            DateTime::<Utc>::from_timestamp(v, 0)
                .ok_or_else(|| format!("invalid epoch timestamp {v}"))?,
        ),
        ParameterValue::Uuid(v) => {
            Box::new(uuid::Uuid::parse_str(&v).map_err(|_| invalid("UUID", &v))?)
        }
        ParameterValue::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(&v)
                .map_err(|_| invalid("JSON", String::from_utf8_lossy(&v)))?,
        ),
        ParameterValue::Decimal(v) => Box::new(decimal_param(&v)?),
        ParameterValue::RangeInt32(v) => Box::new(range_param(v, Some(i32::MAX))?),
        ParameterValue::RangeInt64(v) => Box::new(range_param(v, Some(i64::MAX))?),
        ParameterValue::RangeDecimal((lower, upper)) => {
            let bound = |b: Bound<String>| -> Result<Bound<RangeDecimal>, String> {
                match b {
                    None => Ok(None),
                    Some((s, k)) => Ok(Some((RangeDecimal(decimal_param(&s)?), k))),
                }
            };
            Box::new(range_param((bound(lower)?, bound(upper)?), None)?)
        }
        ParameterValue::ArrayInt32(v) => Box::new(v),
        ParameterValue::ArrayInt64(v) => Box::new(v),
        ParameterValue::ArrayDecimal(v) => Box::new(
            v.iter()
                .map(|d| d.as_deref().map(decimal_param).transpose())
                .collect::<Result<Vec<_>, _>>()?,
        ),
        ParameterValue::ArrayStr(v) => Box::new(v),
        ParameterValue::Interval(v) => Box::new(PgInterval(v)),
        ParameterValue::DbNull => Box::new(Null),
    };
    Ok(boxed)
}

/// NULL for a parameter of any type: `Option::<T>::None` would still be
/// type-checked as a `T`, and the guest does not say the column's type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(&self, _: &Type, _: &mut BytesMut) -> Result<IsNull, BoxError> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Any value in the server's binary format, for `unsupported`.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// `interval` in its binary format: microseconds, days, months.
#[derive(Debug)]
struct PgInterval(Interval);

impl<'a> FromSql<'a> for PgInterval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let (Some(micros), Some(days), Some(months)) = (
            raw.get(0..8).and_then(|b| b.try_into().ok()),
            raw.get(8..12).and_then(|b| b.try_into().ok()),
            raw.get(12..16).and_then(|b| b.try_into().ok()),
        ) else {
            return Err("unexpected binary format for Postgres INTERVAL".into());
        };
        Ok(PgInterval(Interval {
            micros: i64::from_be_bytes(micros),
            days: i32::from_be_bytes(days),
            months: i32::from_be_bytes(months),
        }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

impl ToSql for PgInterval {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.extend_from_slice(&self.0.micros.to_be_bytes());
        out.extend_from_slice(&self.0.days.to_be_bytes());
        out.extend_from_slice(&self.0.months.to_be_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }

    to_sql_checked!();
}

/// A decimal usable in a `numrange`: continuous, so bounds stay as given.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct RangeDecimal(Decimal);

impl Normalizable for RangeDecimal {
    fn normalize<S: BoundSided>(bound: RangeBound<S, Self>) -> RangeBound<S, Self> {
        bound
    }
}

impl<'a> FromSql<'a> for RangeDecimal {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Decimal::from_sql(ty, raw).map(RangeDecimal)
    }

    fn accepts(ty: &Type) -> bool {
        <Decimal as FromSql>::accepts(ty)
    }
}

impl ToSql for RangeDecimal {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.0.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <Decimal as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}
