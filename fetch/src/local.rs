//! A mirror in a local folder, named by a `file://` URL: a USB stick or
//! a mounted share, for a recovery environment with no network, or a
//! repository on the same machine. Its files are read under the rules a
//! web server's answers are held to (SPEC.md HF4): a range is exactly the
//! bytes asked for, of a file exactly as long as the catalog entry says;
//! what is read is verified like anything a mirror sends. A missing file
//! is what a 404 is to a web server.

use crate::error::MirrorProblem;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use url::Url;

/// The local path of a `file://` URL; `None` for any other URL.
pub(crate) fn path_of(url: &str) -> Option<PathBuf> {
    Url::parse(url)
        .ok()
        .filter(|u| u.scheme() == "file")
        .and_then(|u| u.to_file_path().ok())
}

/// A whole small file of at most `limit` bytes; `None` if it does not
/// exist.
pub(crate) fn read_small(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, MirrorProblem> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(path, &e)),
    };
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(path, &e))?;
    if bytes.len() as u64 > limit {
        return Err(MirrorProblem::TooLong { limit });
    }
    Ok(Some(bytes))
}

/// Bytes `[start, end)` of the file, which must be `total` bytes long:
/// a reader that ends where the range does.
pub(crate) fn open_range(
    path: &Path,
    start: u64,
    end: u64,
    total: u64,
) -> Result<Box<dyn Read>, MirrorProblem> {
    let mut file = File::open(path).map_err(|e| unreadable(path, &e))?;
    let len = file.metadata().map_err(|e| unreadable(path, &e))?.len();
    // The right range of a file of another size: another file (VF2).
    if len != total {
        return Err(MirrorProblem::Invalid(format!(
            "it serves a file of {len} bytes where the catalog entry names one of {total}"
        )));
    }
    file.seek(SeekFrom::Start(start))
        .map_err(|e| unreadable(path, &e))?;
    Ok(Box::new(file.take(end.saturating_sub(start))))
}

fn unreadable(path: &Path, e: &io::Error) -> MirrorProblem {
    MirrorProblem::Unreadable(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_range_is_exactly_the_bytes_asked_for_of_a_file_of_the_right_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.hpk");
        std::fs::write(&path, b"0123456789").unwrap();
        let url = Url::from_file_path(&path).unwrap();
        assert_eq!(path_of(url.as_str()).unwrap(), path);
        assert!(path_of("https://x.example/p.hpk").is_none());

        let mut range = Vec::new();
        open_range(&path, 2, 5, 10)
            .unwrap()
            .read_to_end(&mut range)
            .unwrap();
        assert_eq!(range, b"234");
        assert!(matches!(
            open_range(&path, 2, 5, 11),
            Err(MirrorProblem::Invalid(_))
        ));
        assert!(matches!(
            open_range(&dir.path().join("none"), 0, 1, 1),
            Err(MirrorProblem::Unreadable(_))
        ));

        assert_eq!(read_small(&path, 10).unwrap().unwrap(), b"0123456789");
        assert!(matches!(
            read_small(&path, 9),
            Err(MirrorProblem::TooLong { limit: 9 })
        ));
        assert!(read_small(&dir.path().join("none"), 10).unwrap().is_none());
    }
}
