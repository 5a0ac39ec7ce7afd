//! An error and its causes as one line, as `{:#}` prints an `anyhow::Error`: for messages that
//! carry an error as text. The error types here name their cause as `source()` and leave it
//! out of their own message, so that a chain never prints a cause twice.

use std::error::Error;

pub fn with_causes(e: &(dyn Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("reading {path}")]
    struct Read {
        path: &'static str,
        source: std::io::Error,
    }

    #[test]
    fn each_cause_follows_what_it_explains() {
        let e = Read {
            path: "a.tar",
            source: std::io::Error::other("disk on fire"),
        };
        assert_eq!(super::with_causes(&e), "reading a.tar: disk on fire");
    }
}
