//! Delta chunks (SPEC.md, "Delta chunks", D1–D5): a chunk rebuilt from a
//! base file the device already has and a small body of operations.
//!
//! ```text
//! body = op_count u32 || op_count × op || add bytes || insert bytes
//! op   = kind u8 (0 copy, 1 add, 2 insert) || 3 zero bytes
//!        || len u32 || seek i64
//! ```
//!
//! The base is read through [`BaseRead`], at the offsets the operations
//! name, never held whole: decoding needs the chunk, its body and one
//! operation's worth of base at a time.

use std::io;

/// Length of one operation in a delta body.
pub const DELTA_OP_LEN: usize = 16;

/// Length of the body's operation count.
const COUNT_LEN: usize = 4;

/// Operation kinds.
const COPY: u8 = 0;
const ADD: u8 = 1;
const INSERT: u8 = 2;

/// Most base bytes read at once while applying one operation.
const BASE_STEP: usize = 64 * 1024;

/// Most operations a delta chunk of `chunk_len` bytes may hold (D2): one
/// per 16 bytes of output, plus one.
pub fn max_delta_ops(chunk_len: u32) -> u64 {
    u64::from(chunk_len / 16).saturating_add(1)
}

/// Largest body a delta chunk of `chunk_len` bytes may decode to (D1):
/// the count, the most operations, and one byte of data per byte of
/// output.
pub fn max_delta_body_len(chunk_len: u32) -> u64 {
    (COUNT_LEN as u64)
        .saturating_add(max_delta_ops(chunk_len).saturating_mul(DELTA_OP_LEN as u64))
        .saturating_add(u64::from(chunk_len))
}

/// Random read access to the base of a delta payload: the file the device
/// already has. Implemented for files and byte slices.
pub trait BaseRead: Send + Sync {
    /// Fills `buf` with the base's bytes from `offset`; an error if the
    /// base ends first.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// The base's length in bytes.
    fn base_len(&self) -> io::Result<u64>;
}

impl BaseRead for [u8] {
    fn base_len(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| past_end())?;
        let end = start.checked_add(buf.len()).ok_or_else(past_end)?;
        buf.copy_from_slice(self.get(start..end).ok_or_else(past_end)?);
        Ok(())
    }
}

impl BaseRead for Vec<u8> {
    fn base_len(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.as_slice().read_exact_at(offset, buf)
    }
}

impl BaseRead for std::fs::File {
    fn base_len(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    #[cfg(unix)]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }

    #[cfg(windows)]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0usize;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let at = offset.saturating_add(done as u64);
            match std::os::windows::fs::FileExt::seek_read(self, rest, at) {
                Ok(0) => return Err(past_end()),
                Ok(n) => done = done.saturating_add(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn past_end() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the base ends early")
}

/// Why a delta body was refused.
#[derive(Debug)]
pub(crate) enum DeltaFault {
    /// The body breaks a rule of D2–D4.
    Rule(String),
    /// Reading the base failed.
    Base(io::Error),
}

/// Applies a decoded delta body (D2–D4) to `base` of `base_size` bytes,
/// filling `out`, which holds exactly the chunk's length.
pub(crate) fn apply(
    body: &[u8],
    base: &dyn BaseRead,
    base_size: u64,
    out: &mut [u8],
) -> Result<(), DeltaFault> {
    let rule = |s: String| DeltaFault::Rule(s);
    let chunk_len = u32::try_from(out.len()).map_err(|_| rule("chunk too long".into()))?;
    let (count, rest) = body
        .split_first_chunk::<COUNT_LEN>()
        .ok_or_else(|| rule("body shorter than its operation count (D2)".into()))?;
    let count = u64::from(u32::from_le_bytes(*count));
    if count > max_delta_ops(chunk_len) {
        return Err(rule(format!(
            "{count} operations, at most {} for a chunk of {chunk_len} bytes (D2)",
            max_delta_ops(chunk_len)
        )));
    }
    let ops_len = usize::try_from(count)
        .ok()
        .and_then(|n| n.checked_mul(DELTA_OP_LEN))
        .ok_or_else(|| rule("operation count overflows".into()))?;
    let (ops, data) = rest
        .split_at_checked(ops_len)
        .ok_or_else(|| rule("body shorter than its operations (D2)".into()))?;
    // Where the add bytes end and the insert bytes start: the sum of the
    // add lengths, known only after a first pass over the operations.
    let mut add_total = 0usize;
    let mut out_total = 0usize;
    for op in ops.chunks_exact(DELTA_OP_LEN) {
        let (kind, len, _) = parse_op(op).map_err(rule)?;
        out_total = out_total
            .checked_add(len)
            .filter(|&t| t <= out.len())
            .ok_or_else(|| rule("operations write past the chunk's length (D3)".into()))?;
        if kind == ADD {
            add_total = add_total.saturating_add(len);
        }
    }
    if out_total != out.len() {
        return Err(rule(format!(
            "operations write {out_total} bytes, the chunk has {} (D3)",
            out.len()
        )));
    }
    let (mut adds, mut inserts) = data
        .split_at_checked(add_total)
        .ok_or_else(|| rule("body shorter than its add bytes (D2)".into()))?;
    let mut cursor: u64 = 0;
    let mut at = 0usize;
    for op in ops.chunks_exact(DELTA_OP_LEN) {
        let (kind, len, seek) = parse_op(op).map_err(rule)?;
        let dst = out
            .get_mut(at..at.saturating_add(len))
            .ok_or_else(|| rule("operations write past the chunk's length (D3)".into()))?;
        at = at.saturating_add(len);
        if kind == INSERT {
            let (bytes, rest) = inserts
                .split_at_checked(len)
                .ok_or_else(|| rule("body shorter than its insert bytes (D2)".into()))?;
            dst.copy_from_slice(bytes);
            inserts = rest;
            continue;
        }
        // Within i128, neither sum can overflow.
        let from = i128::from(cursor).saturating_add(i128::from(seek));
        let to = from.saturating_add(len as i128);
        if from < 0 || to > i128::from(base_size) {
            return Err(rule(format!(
                "operation reads base bytes {from}..{to}, outside the base of {base_size} bytes (D4)"
            )));
        }
        let from = u64::try_from(from).map_err(|_| rule("base offset overflows".into()))?;
        for (i, piece) in dst.chunks_mut(BASE_STEP).enumerate() {
            let offset = from.saturating_add((i.saturating_mul(BASE_STEP)) as u64);
            base.read_exact_at(offset, piece)
                .map_err(DeltaFault::Base)?;
        }
        if kind == ADD {
            let (diff, rest) = adds
                .split_at_checked(len)
                .ok_or_else(|| rule("body shorter than its add bytes (D2)".into()))?;
            for (b, d) in dst.iter_mut().zip(diff) {
                *b = b.wrapping_add(*d);
            }
            adds = rest;
        }
        cursor = from.saturating_add(len as u64);
    }
    if !adds.is_empty() || !inserts.is_empty() {
        return Err(rule(format!(
            "{} bytes follow the last operation's data (D2)",
            adds.len().saturating_add(inserts.len())
        )));
    }
    Ok(())
}

/// One operation: kind, length, seek (D2).
fn parse_op(op: &[u8]) -> Result<(u8, usize, i64), String> {
    let Ok(
        &[
            kind,
            r0,
            r1,
            r2,
            l0,
            l1,
            l2,
            l3,
            s0,
            s1,
            s2,
            s3,
            s4,
            s5,
            s6,
            s7,
        ],
    ) = <&[u8; DELTA_OP_LEN]>::try_from(op)
    else {
        return Err("short operation".into());
    };
    if [r0, r1, r2] != [0, 0, 0] {
        return Err("operation's reserved bytes are not zero (D2)".into());
    }
    if !matches!(kind, COPY | ADD | INSERT) {
        return Err(format!("unknown operation kind {kind} (D2)"));
    }
    let len = u32::from_le_bytes([l0, l1, l2, l3]);
    if len == 0 {
        return Err("operation of length 0 (D2)".into());
    }
    let seek = i64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]);
    if kind == INSERT && seek != 0 {
        return Err("insert operation with a seek (D2)".into());
    }
    Ok((kind, len as usize, seek))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: u8, len: u32, seek: i64) -> Vec<u8> {
        let mut v = vec![kind, 0, 0, 0];
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&seek.to_le_bytes());
        v
    }

    fn body(ops: &[Vec<u8>], data: &[u8]) -> Vec<u8> {
        let mut b = (ops.len() as u32).to_le_bytes().to_vec();
        for o in ops {
            b.extend_from_slice(o);
        }
        b.extend_from_slice(data);
        b
    }

    fn run(base: &[u8], body: &[u8], len: usize) -> Result<Vec<u8>, String> {
        let mut out = vec![0u8; len];
        let base = base.to_vec();
        apply(body, &base, base.len() as u64, &mut out).map_err(|e| match e {
            DeltaFault::Rule(r) => r,
            DeltaFault::Base(e) => e.to_string(),
        })?;
        Ok(out)
    }

    #[test]
    fn copy_add_and_insert_rebuild_the_chunk() {
        let base: Vec<u8> = (0..100u8).collect();
        // Copy 2..22, insert two bytes, add 1 to 26..46 (seek 4 from
        // 22), copy 0..22 (seek back to the start).
        let mut data = vec![1u8; 20];
        data.extend_from_slice(b"XY");
        let b = body(
            &[
                op(COPY, 20, 2),
                op(INSERT, 2, 0),
                op(ADD, 20, 4),
                op(COPY, 22, -46),
            ],
            &data,
        );
        let mut expected: Vec<u8> = (2..22).collect();
        expected.extend_from_slice(b"XY");
        expected.extend((26..46).map(|b| b + 1));
        expected.extend(0..22);
        assert_eq!(run(&base, &b, 64).unwrap(), expected);
    }

    #[test]
    fn every_rule_is_enforced() {
        let base = vec![7u8; 100];
        let ok = body(&[op(COPY, 10, 0)], &[]);
        assert!(run(&base, &ok, 10).is_ok());
        // Output shorter or longer than the chunk.
        assert!(run(&base, &ok, 11).is_err());
        assert!(run(&base, &ok, 9).is_err());
        // Reads before the base, or past its end.
        assert!(run(&base, &body(&[op(COPY, 10, -1)], &[]), 10).is_err());
        assert!(run(&base, &body(&[op(COPY, 10, 91)], &[]), 10).is_err());
        assert!(run(&base, &body(&[op(COPY, 10, 90)], &[]), 10).is_ok());
        // Unknown kind, reserved bytes, zero length, insert with a seek.
        assert!(run(&base, &body(&[op(3, 10, 0)], &[]), 10).is_err());
        let mut reserved = op(COPY, 10, 0);
        reserved[2] = 1;
        assert!(run(&base, &body(&[reserved], &[]), 10).is_err());
        let zero = [op(COPY, 0, 0), op(COPY, 32, 0)];
        assert!(run(&base, &body(&zero, &[]), 32).is_err());
        assert!(run(&base, &body(&[op(INSERT, 1, 1)], &[9]), 1).is_err());
        // Missing or trailing data.
        assert!(run(&base, &body(&[op(INSERT, 2, 0)], &[9]), 2).is_err());
        assert!(run(&base, &body(&[op(INSERT, 2, 0)], &[9, 9, 9]), 2).is_err());
        assert!(run(&base, &body(&[op(ADD, 2, 0)], &[1]), 2).is_err());
        // A count larger than the operations present, or than D2 allows:
        // one operation per 16 bytes, plus one.
        let mut short = ok.clone();
        short[0] = 2;
        assert!(run(&base, &short, 10).is_err());
        let ops = |n: usize| (0..n).map(|_| op(INSERT, 1, 0)).collect::<Vec<_>>();
        assert!(run(&base, &body(&ops(3), &[1, 2, 3]), 3).is_err());
        let mut at_most: Vec<_> = ops(2);
        at_most[1] = op(INSERT, 31, 0);
        assert!(run(&base, &body(&at_most, &[5; 32]), 32).is_ok());
        let mut over = ops(3);
        over[2] = op(INSERT, 29, 0);
        assert!(run(&base, &body(&over, &[5; 31]), 31).is_err());
        over[2] = op(INSERT, 30, 0);
        assert!(run(&base, &body(&over, &[5; 32]), 32).is_ok());
        assert!(run(&base, &[], 0).is_err());
    }

    #[test]
    fn the_body_bound_covers_the_largest_legal_body() {
        assert_eq!(max_delta_ops(4096), 257);
        assert_eq!(max_delta_body_len(4096), 4 + 257 * 16 + 4096);
        assert_eq!(max_delta_ops(15), 1);
    }
}
