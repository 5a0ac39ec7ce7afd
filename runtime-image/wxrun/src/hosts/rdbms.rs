//! The value types of Spin's relational database interfaces, written once:
//! `fermyon:spin/rdbms-types@2.0.0` (shared by PostgreSQL and MySQL 2.0.0),
//! `spin:postgres/postgres@3.0.0` and `@4.0.0` list the same cases in the
//! same order and differ only by the cases they add after the integers
//! (2.0.0's unsigned ones) and after `binary` (3.0.0's dates and times,
//! 4.0.0's uuid, json, decimal, ranges, arrays, interval). `rdbms_types!`
//! builds one version's types from those extra cases. Queries run in the
//! 4.0.0 types; the older versions narrow results from them and widen
//! parameters into them, as Spin does.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Connection pools by address (connection string), shared by every
/// request of the process. Spin keeps 16 at the most; the oldest goes
/// first.
pub struct PoolCache<P>(Mutex<VecDeque<(String, P)>>);

/// Addresses a process keeps pools for (Spin's cache capacity).
const POOL_CACHE_CAPACITY: usize = 16;

impl<P> Default for PoolCache<P> {
    fn default() -> Self {
        PoolCache(Mutex::new(VecDeque::new()))
    }
}

impl<P: Clone> PoolCache<P> {
    /// The pool for `address`, made by `create` the first time.
    pub fn get(
        &self,
        address: &str,
        create: impl FnOnce(&str) -> Result<P, String>,
    ) -> Result<P, String> {
        let mut pools = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, pool)) = pools.iter().find(|(a, _)| a == address) {
            return Ok(pool.clone());
        }
        let pool = create(address)?;
        if pools.len() >= POOL_CACHE_CAPACITY {
            pools.pop_front();
        }
        pools.push_back((address.to_string(), pool.clone()));
        Ok(pool)
    }
}

/// The `error` of every relational interface. `query-failed` carries text
/// (`Q = String`) up to PostgreSQL 3.0.0, the server's report in 4.0.0.
#[derive(
    wasmtime::component::ComponentType,
    wasmtime::component::Lift,
    wasmtime::component::Lower,
    Debug,
    Clone,
    PartialEq,
    Eq,
)]
#[component(variant)]
pub enum Error<Q = String> {
    #[component(name = "connection-failed")]
    ConnectionFailed(String),
    #[component(name = "bad-parameter")]
    BadParameter(String),
    #[component(name = "query-failed")]
    QueryFailed(Q),
    #[component(name = "value-conversion-failed")]
    ValueConversionFailed(String),
    #[component(name = "other")]
    Other(String),
}

/// `rdbms_types!(narrowed | widest, after_ints: [..], after_binary: [..],
/// unsupported: (payload?), data_type: enum Copy | variant, other: (payload?))`
/// defines `DbDataType`, `DbValue`, `ParameterValue`, `Column` and `RowSet`
/// in the calling module. A case is `Name(payload) = "wit-name"`; the
/// `db-data-type` case of the same name has no payload. `narrowed`
/// versions also get the conversions from and to `postgres::v4` over the
/// cases they share with it (the `after_binary` ones); their `after_ints`
/// cases are the ones PostgreSQL refuses as parameters. `@values` and
/// `@enum` write the value variants, `@narrow` the conversions.
macro_rules! rdbms_types {
    (widest, $($rest:tt)*) => {
        $crate::hosts::rdbms::rdbms_types!(@types $($rest)*);
    };
    (narrowed, $($rest:tt)*) => {
        $crate::hosts::rdbms::rdbms_types!(@types $($rest)*);
        $crate::hosts::rdbms::rdbms_types!(@narrow $($rest)*);
    };
    (@types
        after_ints: [$($a_case:ident($a_ty:ty) = $a_wit:literal),* $(,)?],
        after_binary: [$($b_case:ident($b_ty:ty) = $b_wit:literal),* $(,)?],
        unsupported: ($($unsupported:ty)?),
        data_type: $kind:tt $($copy:ident)?,
        other: ($($other:ty)?) $(,)?
    ) => {
        use wasmtime::component::{ComponentType, Lift, Lower};

        /// The type of a result column.
        #[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq $(, $copy)?)]
        #[component($kind)]
        #[repr(u8)]
        pub enum DbDataType {
            #[component(name = "boolean")] Boolean,
            #[component(name = "int8")] Int8,
            #[component(name = "int16")] Int16,
            #[component(name = "int32")] Int32,
            #[component(name = "int64")] Int64,
            $(#[component(name = $a_wit)] $a_case,)*
            #[component(name = "floating32")] Floating32,
            #[component(name = "floating64")] Floating64,
            #[component(name = "str")] Str,
            #[component(name = "binary")] Binary,
            $(#[component(name = $b_wit)] $b_case,)*
            #[component(name = "other")] Other$(($other))?,
        }

        $crate::hosts::rdbms::rdbms_types!(@values
            [$($a_case($a_ty) = $a_wit),*]
            [$($b_case($b_ty) = $b_wit),*]
            /// A value in a result row.
            DbValue {
                #[component(name = "db-null")] DbNull,
                #[component(name = "unsupported")] Unsupported$(($unsupported))?,
            }
            /// A statement parameter.
            ParameterValue {
                #[component(name = "db-null")] DbNull,
            }
        );

        #[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq)]
        #[component(record)]
        pub struct Column {
            pub name: String,
            #[component(name = "data-type")]
            pub data_type: DbDataType,
        }

        #[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Default)]
        #[component(record)]
        pub struct RowSet {
            pub columns: Vec<Column>,
            pub rows: Vec<Vec<DbValue>>,
        }
    };
    (@values $after_ints:tt $after_binary:tt
        $($(#[$doc:meta])* $name:ident { $($tail:tt)* })*
    ) => {
        $($crate::hosts::rdbms::rdbms_types!(@enum
            $(#[$doc])* $name $after_ints $after_binary { $($tail)* }
        );)*
    };
    (@enum
        $(#[$doc:meta])*
        $name:ident
        [$($a_case:ident($a_ty:ty) = $a_wit:literal),*]
        [$($b_case:ident($b_ty:ty) = $b_wit:literal),*]
        { $($tail:tt)* }
    ) => {
        $(#[$doc])*
        #[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq)]
        #[component(variant)]
        pub enum $name {
            #[component(name = "boolean")] Boolean(bool),
            #[component(name = "int8")] Int8(i8),
            #[component(name = "int16")] Int16(i16),
            #[component(name = "int32")] Int32(i32),
            #[component(name = "int64")] Int64(i64),
            $(#[component(name = $a_wit)] $a_case($a_ty),)*
            #[component(name = "floating32")] Floating32(f32),
            #[component(name = "floating64")] Floating64(f64),
            #[component(name = "str")] Str(String),
            #[component(name = "binary")] Binary(Vec<u8>),
            $(#[component(name = $b_wit)] $b_case($b_ty),)*
            $($tail)*
        }
    };
    (@narrow
        after_ints: [$($a_case:ident($a_ty:ty) = $a_wit:literal),* $(,)?],
        after_binary: [$($b_case:ident($b_ty:ty) = $b_wit:literal),* $(,)?],
        $($rest:tt)*
    ) => {
        use $crate::hosts::postgres::v4 as wide;

        impl From<wide::DbDataType> for DbDataType {
            fn from(t: wide::DbDataType) -> Self {
                use wide::DbDataType as W;
                match t {
                    W::Boolean => Self::Boolean,
                    W::Int8 => Self::Int8,
                    W::Int16 => Self::Int16,
                    W::Int32 => Self::Int32,
                    W::Int64 => Self::Int64,
                    W::Floating32 => Self::Floating32,
                    W::Floating64 => Self::Floating64,
                    W::Str => Self::Str,
                    W::Binary => Self::Binary,
                    $(W::$b_case => Self::$b_case,)*
                    _ => Self::Other,
                }
            }
        }

        impl From<wide::DbValue> for DbValue {
            fn from(v: wide::DbValue) -> Self {
                use wide::DbValue as W;
                match v {
                    W::Boolean(x) => Self::Boolean(x),
                    W::Int8(x) => Self::Int8(x),
                    W::Int16(x) => Self::Int16(x),
                    W::Int32(x) => Self::Int32(x),
                    W::Int64(x) => Self::Int64(x),
                    W::Floating32(x) => Self::Floating32(x),
                    W::Floating64(x) => Self::Floating64(x),
                    W::Str(x) => Self::Str(x),
                    W::Binary(x) => Self::Binary(x),
                    $(W::$b_case(x) => Self::$b_case(x),)*
                    W::DbNull => Self::DbNull,
                    _ => Self::Unsupported,
                }
            }
        }

        impl From<wide::RowSet> for RowSet {
            fn from(set: wide::RowSet) -> Self {
                RowSet {
                    columns: set
                        .columns
                        .into_iter()
                        .map(|c| Column { name: c.name, data_type: c.data_type.into() })
                        .collect(),
                    rows: set
                        .rows
                        .into_iter()
                        .map(|row| row.into_iter().map(DbValue::from).collect())
                        .collect(),
                }
            }
        }

        impl TryFrom<ParameterValue> for wide::ParameterValue {
            type Error = $crate::hosts::rdbms::Error;

            fn try_from(p: ParameterValue) -> Result<Self, Self::Error> {
                use wide::ParameterValue as W;
                Ok(match p {
                    ParameterValue::Boolean(x) => W::Boolean(x),
                    ParameterValue::Int8(x) => W::Int8(x),
                    ParameterValue::Int16(x) => W::Int16(x),
                    ParameterValue::Int32(x) => W::Int32(x),
                    ParameterValue::Int64(x) => W::Int64(x),
                    $(ParameterValue::$a_case(_) => {
                        return Err($crate::hosts::rdbms::Error::ValueConversionFailed(
                            "Postgres does not support unsigned integers".into(),
                        ));
                    })*
                    ParameterValue::Floating32(x) => W::Floating32(x),
                    ParameterValue::Floating64(x) => W::Floating64(x),
                    ParameterValue::Str(x) => W::Str(x),
                    ParameterValue::Binary(x) => W::Binary(x),
                    $(ParameterValue::$b_case(x) => W::$b_case(x),)*
                    ParameterValue::DbNull => W::DbNull,
                })
            }
        }
    };
}
pub(crate) use rdbms_types;

/// The name of the 2.0.0 types interface (types only; linked empty).
pub const TYPES_V2: &str = "fermyon:spin/rdbms-types@2.0.0";

/// `fermyon:spin/rdbms-types@2.0.0`.
pub mod v2 {
    rdbms_types!(narrowed,
        after_ints: [
            Uint8(u8) = "uint8",
            Uint16(u16) = "uint16",
            Uint32(u32) = "uint32",
            Uint64(u64) = "uint64",
        ],
        after_binary: [],
        unsupported: (),
        data_type: enum Copy,
        other: (),
    );
}

impl From<crate::hosts::postgres::v4::Error> for Error {
    fn from(e: crate::hosts::postgres::v4::Error) -> Self {
        use crate::hosts::postgres::v4::{Error as W, QueryError};
        // 4.0.0's report keeps the text older versions get.
        match e {
            W::ConnectionFailed(m) => Error::ConnectionFailed(m),
            W::BadParameter(m) => Error::BadParameter(m),
            W::QueryFailed(QueryError::Text(m)) => Error::QueryFailed(m),
            W::QueryFailed(QueryError::DbError(e)) => Error::QueryFailed(e.as_text),
            W::ValueConversionFailed(m) => Error::ValueConversionFailed(m),
            W::Other(m) => Error::Other(m),
        }
    }
}
