//! The Lambda deployment package: a zip holding one executable, `bootstrap` (the `wxrun`
//! binary; `provided.al2023` runs it). Deterministic: fixed timestamp and permissions, so
//! the same binary always gives the same zip and the same S3 key.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Zips `binary` as an executable `bootstrap`.
pub fn build(binary: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755);
    w.start_file("bootstrap", opts)
        .map_err(std::io::Error::other)?;
    w.write_all(binary)?;
    Ok(w.finish().map_err(std::io::Error::other)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_binary_same_bytes_and_bootstrap_is_executable() {
        let a = build(b"\x7fELF fake binary").unwrap();
        assert_eq!(a, build(b"\x7fELF fake binary").unwrap());
        assert_ne!(a, build(b"\x7fELF other binary").unwrap());
        let mut z = zip::ZipArchive::new(Cursor::new(a)).unwrap();
        assert_eq!(z.len(), 1);
        let f = z.by_name("bootstrap").unwrap();
        assert_eq!(f.unix_mode().unwrap() & 0o777, 0o755);
    }
}
