//! Reading one whole input file (a configuration, a baseline, a recording)
//! with a bound on its size, so that a huge or endless file is an error
//! that names it, never an exhausted memory.
//!
//! The bound is the loader's own: [`crate::Limits::max_document_size`]
//! (`--max-document-size`), since each such file is one document.

use std::io::Read;
use std::path::Path;

/// The bytes of the file at `path`, or `path: message` when it cannot be
/// read or holds more than `limit` bytes. Every such file is text (JSON or
/// YAML): a UTF-8 byte order mark is dropped, and UTF-16 or UTF-32 (by
/// their marks) is an error that names the encoding.
///
/// At most `limit + 1` bytes are ever read, whatever the file claims to
/// be (a FIFO, `/dev/zero` or a file growing while it is read are bounded
/// the same way), and the limit is named in the error so that a user with
/// a genuine need knows what to raise.
pub fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let mut bytes = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it".
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{name}: cannot read: {e}"))?;
    if bytes.len() > limit {
        return Err(format!(
            "{name}: larger than {limit} bytes (--max-document-size); not read"
        ));
    }
    let encoding = match bytes.as_slice() {
        [0x00, 0x00, 0xFE, 0xFF, ..] | [0xFF, 0xFE, 0x00, 0x00, ..] => Some("UTF-32"),
        [0xFE, 0xFF, ..] | [0xFF, 0xFE, ..] => Some("UTF-16"),
        _ => None,
    };
    if let Some(encoding) = encoding {
        return Err(format!(
            "{name}: file is {encoding}; Corral reads UTF-8 (convert with iconv)"
        ));
    }
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    Ok(bytes)
}

/// [`read_bounded`], as UTF-8 text; invalid UTF-8 is an error at its line
/// and column.
pub fn read_bounded_text(path: &Path, limit: usize) -> Result<String, String> {
    let bytes = read_bounded(path, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let pos = crate::lines::position_at(valid, valid.len());
        format!("{}:{pos}: invalid UTF-8", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_named_and_a_utf8_mark_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.json");
        std::fs::write(&path, b"\xEF\xBB\xBF{}").unwrap();
        assert_eq!(read_bounded(&path, 100).unwrap(), b"{}");
        for (bytes, encoding) in [
            (&b"\xFF\xFE{\x00}\x00"[..], "UTF-16"),
            (b"\xFE\xFF\x00{\x00}", "UTF-16"),
            (b"\xFF\xFE\x00\x00{\x00\x00\x00", "UTF-32"),
            (b"\x00\x00\xFE\xFF\x00\x00\x00{", "UTF-32"),
        ] {
            std::fs::write(&path, bytes).unwrap();
            let error = read_bounded(&path, 100).unwrap_err();
            assert!(error.contains(&format!("file is {encoding}")), "{error}");
        }
    }

    #[test]
    fn files_up_to_the_limit_are_read_and_larger_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.json");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_bounded(&path, 10).unwrap(), b"0123456789");
        assert_eq!(read_bounded(&path, 100).unwrap(), b"0123456789");
        let error = read_bounded(&path, 9).unwrap_err();
        assert!(
            error.starts_with(&format!("{}: larger than 9 bytes", path.display())),
            "{error}"
        );
        assert!(error.contains("--max-document-size"), "{error}");
        assert_eq!(read_bounded(&path, 0).unwrap_err(), {
            format!(
                "{}: larger than 0 bytes (--max-document-size); not read",
                path.display()
            )
        });
    }

    #[test]
    fn an_endless_file_is_bounded() {
        // /dev/zero never ends: only limit + 1 bytes are read.
        let error = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(
            error,
            "/dev/zero: larger than 1048576 bytes (--max-document-size); not read"
        );
    }

    #[test]
    fn a_missing_file_names_itself() {
        let error = read_bounded(Path::new("/nonexistent/corral.json"), 10).unwrap_err();
        assert!(
            error.starts_with("/nonexistent/corral.json: cannot read: "),
            "{error}"
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_at_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".corral.yaml");
        std::fs::write(&path, b"a: 1\nb: caf\xc3\xa9 \xff\n").unwrap();
        assert_eq!(
            read_bounded_text(&path, 100).unwrap_err(),
            format!("{}:2:9: invalid UTF-8", path.display())
        );
        std::fs::write(&path, "a: café\n").unwrap();
        assert_eq!(read_bounded_text(&path, 100).unwrap(), "a: café\n");
    }
}
