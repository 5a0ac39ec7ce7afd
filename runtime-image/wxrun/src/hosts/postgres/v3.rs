//! `spin:postgres/postgres@3.0.0`: the 2.0.0 types without unsigned
//! integers, with dates and times. Its `error` is `rdbms::Error`.

postgres_types!(narrowed, [], unsupported: (), data_type: enum Copy, other: ());
