//! `spin:postgres/postgres@4.0.0` (Spin 3.4 and later): the 3.0.0 types
//! plus uuid, jsonb, decimal, ranges, arrays and interval; unsupported
//! values carry their raw bytes, and a failed query says what the server
//! reported. The types every query runs in.

/// One end of a range: its value and whether it is included.
pub type Bound<T> = Option<(T, RangeBoundKind)>;

postgres_types!(widest,
    [
        Uuid(String) = "uuid",
        Jsonb(Vec<u8>) = "jsonb",
        Decimal(String) = "decimal",
        RangeInt32((Bound<i32>, Bound<i32>)) = "range-int32",
        RangeInt64((Bound<i64>, Bound<i64>)) = "range-int64",
        RangeDecimal((Bound<String>, Bound<String>)) = "range-decimal",
        ArrayInt32(Vec<Option<i32>>) = "array-int32",
        ArrayInt64(Vec<Option<i64>>) = "array-int64",
        ArrayDecimal(Vec<Option<String>>) = "array-decimal",
        ArrayStr(Vec<Option<String>>) = "array-str",
        Interval(Interval) = "interval",
    ],
    unsupported: (Vec<u8>),
    data_type: variant,
    other: (String),
);

#[derive(ComponentType, Lift, Lower, Debug, Clone, Copy, PartialEq, Eq)]
#[component(enum)]
#[repr(u8)]
pub enum RangeBoundKind {
    #[component(name = "inclusive")]
    Inclusive,
    #[component(name = "exclusive")]
    Exclusive,
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, Copy, PartialEq, Eq)]
#[component(record)]
pub struct Interval {
    pub micros: i64,
    pub days: i32,
    pub months: i32,
}

/// 4.0.0's `error`: `query-failed` says what the server reported.
pub type Error = crate::hosts::rdbms::Error<QueryError>;

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum QueryError {
    /// No structured information (e.g. the connection broke).
    #[component(name = "text")]
    Text(String),
    #[component(name = "db-error")]
    DbError(DbError),
}

/// What the server reported about a failed statement.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(record)]
pub struct DbError {
    #[component(name = "as-text")]
    pub as_text: String,
    pub severity: String,
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub extras: Vec<(String, String)>,
}

impl DbValue {
    /// Bytes the value holds, for the host's cap on buffered results.
    pub fn memory_size(&self) -> usize {
        let strings = |v: &[Option<String>]| {
            v.iter()
                .map(|s| std::mem::size_of::<Option<String>>() + s.as_ref().map_or(0, String::len))
                .sum::<usize>()
        };
        std::mem::size_of::<Self>()
            + match self {
                Self::Str(s) | Self::Uuid(s) | Self::Decimal(s) => s.len(),
                Self::Binary(b) | Self::Jsonb(b) | Self::Unsupported(b) => b.len(),
                Self::ArrayInt32(v) => v.len() * std::mem::size_of::<Option<i32>>(),
                Self::ArrayInt64(v) => v.len() * std::mem::size_of::<Option<i64>>(),
                Self::ArrayDecimal(v) | Self::ArrayStr(v) => strings(v),
                _ => 0,
            }
    }
}
