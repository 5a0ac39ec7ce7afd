//! The state file format: versioned JSON, read from bytes and written to a writer.

use std::io::Write;

use super::{STATE_VERSION, State};

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("state file is not valid JSON")]
    Json(#[from] serde_json::Error),
    #[error(
        "state file version {found} is newer than this wxinfra understands ({STATE_VERSION}); upgrade wxinfra"
    )]
    TooNew { found: u32 },
    #[error("cannot write state")]
    Io(#[from] std::io::Error),
}

#[derive(serde::Deserialize)]
struct VersionOnly {
    version: u32,
}

pub fn decode(bytes: &[u8]) -> Result<State, FormatError> {
    let v: VersionOnly = serde_json::from_slice(bytes)?;
    if v.version > STATE_VERSION {
        return Err(FormatError::TooNew { found: v.version });
    }
    Ok(serde_json::from_slice(bytes)?)
}

pub fn encode(state: &State, mut w: impl Write) -> Result<(), FormatError> {
    serde_json::to_writer_pretty(&mut w, state)?;
    w.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_future_versions_are_refused() {
        let s = State::new("demo");
        let mut buf = Vec::new();
        encode(&s, &mut buf).unwrap();
        assert_eq!(decode(&buf).unwrap(), s);
        let newer = String::from_utf8(buf)
            .unwrap()
            .replace("\"version\": 1", "\"version\": 99");
        assert!(matches!(
            decode(newer.as_bytes()),
            Err(FormatError::TooNew { found: 99 })
        ));
    }
}
