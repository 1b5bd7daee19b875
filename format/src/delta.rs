//! Delta chunks (SPEC.md, "Delta chunks", D1–D4): a chunk rebuilt from a
//! base file the device already has and a list of bsdiff's operations,
//! stored as five separately compressed streams.
//!
//! ```text
//! stored = mode u8 || len u32 × 5 || ops || s1 || s2 || s3 || ins   (each a zstd frame, or absent)
//! ops    = op_count varint || kind u8 × op_count || len varint × op_count
//!          || zigzag(seek) varint for each copy and add op
//! mode 0: s1 = the add bytes              mode 1: s1 = zero-run lengths,
//! ins = the insert bytes                          s2 = run starts, s3 = run continuations
//! ```
//!
//! Every stream's size is checked from its frame header before it is
//! decompressed, and the base is read through [`BaseRead`] at the offsets
//! the operations name, never held whole.

use crate::base_read::BaseRead;
use crate::varint::{read_varint, unzigzag};
use crate::zstd_frame::{ContentSize, FrameShape, check_frame_of};
use std::io;

/// Length of a delta chunk's header: the mode byte and five stream
/// lengths (D1).
pub const DELTA_HEADER_LEN: usize = 1 + 4 * DELTA_STREAMS;

/// Number of streams of a delta chunk: ops, s1, s2, s3, ins (D1).
pub const DELTA_STREAMS: usize = 5;

/// Mode 0: `s1` holds the add bytes as they are (D2).
pub const DELTA_MODE_DENSE: u8 = 0;

/// Mode 1: `s1`, `s2` and `s3` hold the add bytes sparsely (D2).
pub const DELTA_MODE_SPARSE: u8 = 1;

/// Op kind 0: copy a run of the base (D2).
pub const DELTA_COPY: u8 = 0;

/// Op kind 1: add difference bytes to a run of the base (D2).
pub const DELTA_ADD: u8 = 1;

/// Op kind 2: insert literal bytes (D2).
pub const DELTA_INSERT: u8 = 2;

/// Most base bytes read at once while applying one operation.
const BASE_STEP: usize = 64 * 1024;

/// Most operations a delta chunk of `chunk_len` bytes may hold (D2): one
/// per 16 bytes of output, plus one.
pub fn max_delta_ops(chunk_len: u32) -> u64 {
    u64::from(chunk_len / 16).saturating_add(1)
}

/// Largest ops stream a delta chunk of `chunk_len` bytes may decode to
/// (D1): a count, then per op one kind byte, a length of at most 4 varint
/// bytes (chunks are at most 16 MiB) and a seek of at most 10.
pub fn max_delta_ops_stream_len(chunk_len: u32) -> u64 {
    max_delta_ops(chunk_len)
        .saturating_mul(15)
        .saturating_add(10)
}

/// Why a delta chunk was refused.
#[derive(Debug)]
pub(crate) enum DeltaFault {
    /// The stored bytes break a rule of D1–D4.
    Rule(String),
    /// Reading the base failed.
    Base(io::Error),
}

impl From<String> for DeltaFault {
    fn from(rule: String) -> Self {
        DeltaFault::Rule(rule)
    }
}

impl From<&'static str> for DeltaFault {
    fn from(rule: &'static str) -> Self {
        DeltaFault::Rule(rule.into())
    }
}

/// One operation (D2); an insert has seek 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Op {
    kind: u8,
    len: u32,
    seek: i64,
}

/// The buffers of a delta decoder, kept between chunks so that decoding
/// many chunks allocates once. Each is bounded by D1–D2 before it grows.
#[derive(Default)]
pub(crate) struct DeltaBuffers {
    ops_stream: Vec<u8>,
    ops: Vec<Op>,
    adds: Vec<u8>,
    gaps: Vec<u8>,
    starts: Vec<u8>,
    continuations: Vec<u8>,
    inserts: Vec<u8>,
}

/// Decodes one zstd frame that passed `check_frame_of`, given its
/// header's length, into a buffer of exactly its content size; returns
/// the number of bytes written (`ChunkDecoder::decode_frame`).
pub(crate) type Unframe<'a> =
    dyn FnMut(&[u8], usize, &mut [u8]) -> Result<usize, &'static str> + 'a;

/// Rebuilds one delta chunk into `out` (exactly the chunk's length) from
/// its stored bytes, whose digest has matched, and `base` of `base_size`
/// bytes, checking D1–D4 in the order SPEC.md gives.
pub(crate) fn decode_delta_chunk(
    stored: &[u8],
    base: &dyn BaseRead,
    base_size: u64,
    out: &mut [u8],
    buffers: &mut DeltaBuffers,
    unframe: &mut Unframe<'_>,
) -> Result<(), DeltaFault> {
    let chunk_len = u32::try_from(out.len()).map_err(|_| "chunk too long")?;
    let (mode, [ops, s1, s2, s3, ins]) = split_streams(stored)?;
    // D1: the ops stream is always there, bounded by the chunk.
    let ops_shape = stream_shape(ops, "ops", 1, max_delta_ops_stream_len(chunk_len))?
        .ok_or("the ops stream is absent (D1)")?;
    decode_stream(ops, Some(ops_shape), &mut buffers.ops_stream, unframe)?;
    let (add_total, insert_total) = parse_ops(&buffers.ops_stream, chunk_len, &mut buffers.ops)?;
    // D2: which other frames are there, and their sizes, from their
    // headers, before any of them is decompressed.
    let ins_shape = exact_stream(ins, "ins", insert_total)?;
    match mode {
        DELTA_MODE_DENSE => {
            let s1_shape = exact_stream(s1, "s1", add_total)?;
            for (frame, name) in [(s2, "s2"), (s3, "s3")] {
                if !frame.is_empty() {
                    return Err(format!("stream {name} is there in mode 0 (D2)").into());
                }
            }
            decode_stream(s1, s1_shape, &mut buffers.adds, unframe)?;
        }
        _ => {
            if add_total == 0 {
                return Err("mode 1 without add bytes (D2)".into());
            }
            let s1_shape = stream_shape(s1, "s1", 1, add_total)?
                .ok_or("stream s1 is absent in mode 1 (D2)")?;
            let s2_shape = stream_shape(s2, "s2", 1, add_total)?;
            let s3_shape = stream_shape(s3, "s3", 1, add_total)?;
            let size = |s: Option<FrameShape>| s.map_or(0, |s| s.content_size);
            if size(s2_shape).saturating_add(size(s3_shape)) > add_total {
                return Err(format!(
                    "streams s2 and s3 hold {} bytes, more than the {add_total} add bytes (D2)",
                    size(s2_shape).saturating_add(size(s3_shape))
                )
                .into());
            }
            decode_stream(s1, Some(s1_shape), &mut buffers.gaps, unframe)?;
            decode_stream(s2, s2_shape, &mut buffers.starts, unframe)?;
            decode_stream(s3, s3_shape, &mut buffers.continuations, unframe)?;
            let sparse = SparseAdds {
                gaps: &buffers.gaps,
                starts: &buffers.starts,
                continuations: &buffers.continuations,
                total: add_total,
            };
            // The add bytes are mostly zero: rather than spelled out in a
            // buffer, the nonzero ones are added to the output after the
            // operations have copied the base (D2 is checked first, as
            // the rules are ordered).
            sparse.each_nonzero(&mut |_, _| {})?;
            decode_stream(ins, ins_shape, &mut buffers.inserts, unframe)?;
            apply(&buffers.ops, None, &buffers.inserts, base, base_size, out)?;
            return add_sparse(&buffers.ops, &sparse, out);
        }
    }
    decode_stream(ins, ins_shape, &mut buffers.inserts, unframe)?;
    apply(
        &buffers.ops,
        Some(&buffers.adds),
        &buffers.inserts,
        base,
        base_size,
        out,
    )
}

/// D1: the mode and the five frames (empty where a stream is absent),
/// which fill the stored bytes exactly.
fn split_streams(stored: &[u8]) -> Result<(u8, [&[u8]; DELTA_STREAMS]), DeltaFault> {
    let (header, mut rest) = stored
        .split_first_chunk::<DELTA_HEADER_LEN>()
        .ok_or("stored bytes shorter than the delta header (D1)")?;
    let (&mode, lens) = header.split_first().ok_or("empty header")?;
    if mode > DELTA_MODE_SPARSE {
        return Err(format!("unknown delta mode {mode} (D1)").into());
    }
    let mut frames: [&[u8]; DELTA_STREAMS] = [&[]; DELTA_STREAMS];
    for (frame, len) in frames.iter_mut().zip(lens.chunks_exact(4)) {
        let len = u32::from_le_bytes(len.try_into().map_err(|_| "header")?);
        let len = usize::try_from(len).map_err(|_| "stream length overflows")?;
        let (this, after) = rest
            .split_at_checked(len)
            .ok_or("the stream lengths add up to more than the stored bytes (D1)")?;
        *frame = this;
        rest = after;
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes follow the last stream (D1)", rest.len()).into());
    }
    Ok((mode, frames))
}

/// D1: the header of a stream's frame if it is there, with its content
/// size in `[min, max]`.
fn stream_shape(
    frame: &[u8],
    name: &str,
    min: u64,
    max: u64,
) -> Result<Option<FrameShape>, DeltaFault> {
    if frame.is_empty() {
        return Ok(None);
    }
    check_frame_of(frame, ContentSize::Within { min, max })
        .map(Some)
        .map_err(|r| format!("stream {name}: {r}").into())
}

/// D2: a stream that holds exactly `len` bytes: there if and only if
/// `len` > 0.
fn exact_stream(frame: &[u8], name: &str, len: u64) -> Result<Option<FrameShape>, DeltaFault> {
    if len == 0 {
        if frame.is_empty() {
            return Ok(None);
        }
        return Err(format!("stream {name} is there but the ops need none of it (D2)").into());
    }
    stream_shape(frame, name, len, len)?
        .map(Some)
        .ok_or_else(|| format!("stream {name} is absent but the ops need {len} bytes (D2)").into())
}

/// Decompresses a checked stream into `into` (emptied if it is absent).
fn decode_stream(
    frame: &[u8],
    shape: Option<FrameShape>,
    into: &mut Vec<u8>,
    unframe: &mut Unframe<'_>,
) -> Result<(), DeltaFault> {
    into.clear();
    let Some(shape) = shape else { return Ok(()) };
    let len = usize::try_from(shape.content_size).map_err(|_| "stream too long")?;
    into.resize(len, 0);
    let written = unframe(frame, shape.header_len, into)
        .map_err(|e| format!("a stream's frame does not decode (D1): {e}"))?;
    if written != len {
        return Err(
            format!("a stream's frame decodes to {written} bytes, declared {len} (D1)").into(),
        );
    }
    Ok(())
}

/// D2, D3: parses the ops stream into `ops`; returns the total length of
/// the add ops and of the insert ops.
fn parse_ops(stream: &[u8], chunk_len: u32, ops: &mut Vec<Op>) -> Result<(u64, u64), DeltaFault> {
    let c = u64::from(chunk_len);
    let mut at = 0usize;
    let count = read_varint(stream, &mut at)?;
    if count == 0 || count > max_delta_ops(chunk_len) {
        return Err(format!(
            "{count} operations, 1 to {} allowed for a chunk of {chunk_len} bytes (D2)",
            max_delta_ops(chunk_len)
        )
        .into());
    }
    // At most ⌊c / 16⌋ + 1, so it fits.
    let count = usize::try_from(count).map_err(|_| "operation count overflows")?;
    let kinds = stream
        .get(at..at.saturating_add(count))
        .ok_or("the ops stream ends inside its kinds (D2)")?;
    at = at.saturating_add(count);
    ops.clear();
    ops.reserve(count);
    let (mut total, mut adds, mut inserts) = (0u64, 0u64, 0u64);
    for &kind in kinds {
        if kind > DELTA_INSERT {
            return Err(format!("unknown operation kind {kind} (D2)").into());
        }
        let len = read_varint(stream, &mut at)?;
        if len == 0 || len > c {
            return Err(format!("an operation of length {len}, 1 to {c} allowed (D2)").into());
        }
        total = total.saturating_add(len);
        if total > c {
            return Err("the operations write past the chunk's length (D3)".into());
        }
        match kind {
            DELTA_ADD => adds = adds.saturating_add(len),
            DELTA_INSERT => inserts = inserts.saturating_add(len),
            _ => {}
        }
        // len ≤ c ≤ 16 MiB.
        let len = u32::try_from(len).map_err(|_| "length overflows")?;
        ops.push(Op { kind, len, seek: 0 });
    }
    if total != c {
        return Err(format!("the operations write {total} bytes, the chunk has {c} (D3)").into());
    }
    for op in ops.iter_mut().filter(|op| op.kind != DELTA_INSERT) {
        op.seek = unzigzag(read_varint(stream, &mut at)?);
    }
    if at != stream.len() {
        return Err(format!(
            "{} bytes follow the last seek in the ops stream (D2)",
            stream.len().saturating_sub(at)
        )
        .into());
    }
    Ok((adds, inserts))
}

/// D2, mode 1: the add bytes of a chunk as the zero-run lengths (`gaps`)
/// and the nonzero bytes that start and continue runs.
struct SparseAdds<'a> {
    gaps: &'a [u8],
    starts: &'a [u8],
    continuations: &'a [u8],
    /// How many add bytes there are, zero or not (the add ops' total).
    total: u64,
}

impl SparseAdds<'_> {
    /// Hands each nonzero add byte to `each` with its position among the
    /// add bytes (increasing), checking D2 on the way.
    fn each_nonzero(&self, each: &mut dyn FnMut(u64, u8)) -> Result<(), DeltaFault> {
        let (mut at, mut start, mut continuation, mut pos) = (0usize, 0usize, 0usize, 0u64);
        while at < self.gaps.len() {
            let gap = read_varint(self.gaps, &mut at)?;
            let q = pos
                .checked_add(gap)
                .filter(|&q| q < self.total)
                .ok_or("a zero run in s1 reaches past the add bytes (D2)")?;
            let (stream, next, name) = if gap == 0 && pos > 0 {
                (self.continuations, &mut continuation, "s3")
            } else {
                (self.starts, &mut start, "s2")
            };
            let byte = *stream
                .get(*next)
                .ok_or_else(|| format!("stream {name} runs out (D2)"))?;
            *next = next.saturating_add(1);
            if byte == 0 {
                return Err(format!("stream {name} holds a zero byte (D2)").into());
            }
            each(q, byte);
            pos = q.saturating_add(1);
        }
        if start != self.starts.len() || continuation != self.continuations.len() {
            return Err("bytes of s2 or s3 are left when s1 ends (D2)".into());
        }
        Ok(())
    }
}

/// D4, mode 1: adds the nonzero add bytes of `sparse` (checked) to `out`,
/// where `apply` has copied the base bytes of the add ops.
fn add_sparse(ops: &[Op], sparse: &SparseAdds<'_>, out: &mut [u8]) -> Result<(), DeltaFault> {
    // The add ops in order, as (first add byte, output offset, length);
    // the positions handed out increase, so one cursor walks them.
    let mut spans = ops.iter().scan((0u64, 0u64), |(adds, written), op| {
        let span = (*adds, *written, u64::from(op.len));
        *written = written.saturating_add(u64::from(op.len));
        if op.kind == DELTA_ADD {
            *adds = adds.saturating_add(u64::from(op.len));
            Some(Some(span))
        } else {
            Some(None)
        }
    });
    let mut span = (0u64, 0u64, 0u64);
    let mut outside = false;
    sparse.each_nonzero(&mut |q, byte| {
        while q >= span.0.saturating_add(span.2) {
            match spans.next() {
                Some(Some(next)) => span = next,
                Some(None) => {}
                None => {
                    outside = true;
                    return;
                }
            }
        }
        let at = span.1.saturating_add(q.saturating_sub(span.0));
        match usize::try_from(at).ok().and_then(|at| out.get_mut(at)) {
            Some(b) => *b = b.wrapping_add(byte),
            None => outside = true,
        }
    })?;
    if outside {
        // Cannot happen: D2 bounds the positions by the add ops' total,
        // and D3 the ops by the chunk.
        return Err("an add byte falls outside the add ops".into());
    }
    Ok(())
}

/// D3, D4: applies the operations to `base`, filling `out`. The totals
/// were checked by `parse_ops` and the stream sizes against them, so the
/// add and insert bytes are exactly what the operations take. Without
/// `adds` (mode 1), an add op copies its base bytes, and `add_sparse`
/// adds the differences afterwards.
fn apply(
    ops: &[Op],
    adds: Option<&[u8]>,
    inserts: &[u8],
    base: &dyn BaseRead,
    base_size: u64,
    out: &mut [u8],
) -> Result<(), DeltaFault> {
    let mut adds = adds;
    let mut inserts = inserts;
    let mut cursor: u64 = 0;
    let mut at = 0usize;
    for op in ops {
        let len = op.len as usize;
        let dst = out
            .get_mut(at..at.saturating_add(len))
            .ok_or("the operations write past the chunk's length (D3)")?;
        at = at.saturating_add(len);
        if op.kind == DELTA_INSERT {
            let (bytes, rest) = inserts
                .split_at_checked(len)
                .ok_or("the insert bytes run out (D2)")?;
            dst.copy_from_slice(bytes);
            inserts = rest;
            continue;
        }
        // Within i128, neither sum can overflow.
        let from = i128::from(cursor).saturating_add(i128::from(op.seek));
        let to = from.saturating_add(len as i128);
        if from < 0 || to > i128::from(base_size) {
            return Err(format!(
                "an operation reads base bytes {from}..{to}, outside the base of {base_size} bytes (D4)"
            )
            .into());
        }
        let from = u64::try_from(from).map_err(|_| "base offset overflows")?;
        for (i, piece) in dst.chunks_mut(BASE_STEP).enumerate() {
            let offset = from.saturating_add((i.saturating_mul(BASE_STEP)) as u64);
            base.read_exact_at(offset, piece)
                .map_err(DeltaFault::Base)?;
        }
        if let (DELTA_ADD, Some(remaining)) = (op.kind, adds.as_mut()) {
            let (diff, rest) = remaining
                .split_at_checked(len)
                .ok_or("the add bytes run out (D2)")?;
            for (b, d) in dst.iter_mut().zip(diff) {
                *b = b.wrapping_add(*d);
            }
            *remaining = rest;
        }
        cursor = from.saturating_add(len as u64);
    }
    if at != out.len() || adds.is_some_and(|a| !a.is_empty()) || !inserts.is_empty() {
        return Err("the operations do not use their bytes exactly (D2, D3)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::varint::{put_varint, zigzag};

    /// A single-segment frame of raw blocks holding `data` exactly.
    fn frame(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x28, 0xB5, 0x2F, 0xFD, 0xA0];
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        let blocks: Vec<&[u8]> = data.chunks(128 * 1024).collect();
        for (i, b) in blocks.iter().enumerate() {
            let last = u32::from(i + 1 == blocks.len());
            out.extend_from_slice(&(((b.len() as u32) << 3) | last).to_le_bytes()[..3]);
            out.extend_from_slice(b);
        }
        out
    }

    /// Stored bytes of `mode` and five streams, each framed unless empty.
    fn stored(mode: u8, streams: [&[u8]; 5]) -> Vec<u8> {
        let frames: Vec<Vec<u8>> = streams
            .iter()
            .map(|s| if s.is_empty() { Vec::new() } else { frame(s) })
            .collect();
        let mut out = vec![mode];
        for f in &frames {
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        }
        for f in &frames {
            out.extend_from_slice(f);
        }
        out
    }

    /// An ops stream of (kind, len, seek).
    fn ops(list: &[(u8, u64, i64)]) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, list.len() as u64);
        out.extend(list.iter().map(|o| o.0));
        for o in list {
            put_varint(&mut out, o.1);
        }
        for o in list.iter().filter(|o| o.0 != DELTA_INSERT) {
            put_varint(&mut out, zigzag(o.2));
        }
        out
    }

    fn run(base: &[u8], stored: &[u8], len: usize) -> Result<Vec<u8>, String> {
        let mut out = vec![0u8; len];
        let base = base.to_vec();
        let mut unframe = |f: &[u8], _header: usize, into: &mut [u8]| {
            let data = zstd::bulk::decompress(f, into.len()).map_err(|_| "bad frame")?;
            into.get_mut(..data.len())
                .ok_or("too long")?
                .copy_from_slice(&data);
            Ok(data.len())
        };
        decode_delta_chunk(
            stored,
            &base,
            base.len() as u64,
            &mut out,
            &mut DeltaBuffers::default(),
            &mut unframe,
        )
        .map_err(|e| match e {
            DeltaFault::Rule(r) => r,
            DeltaFault::Base(e) => e.to_string(),
        })?;
        Ok(out)
    }

    #[test]
    fn copy_add_and_insert_rebuild_the_chunk_in_both_modes() {
        let base: Vec<u8> = (0..100u8).collect();
        // Copy 2..22, insert two bytes, add to 26..46 (seek 4 from 22),
        // copy 0..22 (seek back to the start).
        let list = [
            (DELTA_COPY, 20, 2),
            (DELTA_INSERT, 2, 0),
            (DELTA_ADD, 20, 4),
            (DELTA_COPY, 22, -46),
        ];
        let mut adds = vec![0u8; 20];
        adds[0] = 5;
        adds[1] = 6;
        adds[7] = 1;
        let mut expected: Vec<u8> = (2..22).collect();
        expected.extend_from_slice(b"XY");
        expected.extend((26..46u8).zip(&adds).map(|(b, d)| b + d));
        expected.extend(0..22);
        let dense = stored(DELTA_MODE_DENSE, [&ops(&list), &adds, &[], &[], b"XY"]);
        assert_eq!(run(&base, &dense, 64).unwrap(), expected);
        // Sparse: gaps 0 (start 5), 0 (continues: 6), 5 (start 1).
        let sparse = stored(
            DELTA_MODE_SPARSE,
            [&ops(&list), &[0, 0, 5], &[5, 1], &[6], b"XY"],
        );
        assert_eq!(run(&base, &sparse, 64).unwrap(), expected);
    }

    #[test]
    fn every_layout_rule_is_enforced() {
        let base = vec![7u8; 100];
        let copy = ops(&[(DELTA_COPY, 10, 0)]);
        let ok = stored(0, [&copy, &[], &[], &[], &[]]);
        assert!(run(&base, &ok, 10).is_ok());
        // D1: header, mode, lengths, trailing bytes, absent ops stream.
        assert!(run(&base, &ok[..20], 10).is_err());
        assert!(run(&base, &stored(2, [&copy, &[], &[], &[], &[]]), 10).is_err());
        let mut trailing = ok.clone();
        trailing.push(0);
        assert!(run(&base, &trailing, 10).is_err());
        assert!(run(&base, &ok[..ok.len() - 1], 10).is_err());
        assert!(run(&base, &stored(0, [&[], &[], &[], &[], &[]]), 10).is_err());
        // A frame of content size 0 is not an absent stream.
        let zero = frame(&[]);
        let mut with_zero = ok.clone();
        with_zero[5..9].copy_from_slice(&(zero.len() as u32).to_le_bytes());
        with_zero.extend_from_slice(&zero);
        assert!(run(&base, &with_zero, 10).is_err());
        // D2: the ops stream.
        let bad_ops = |o: &[u8]| run(&base, &stored(0, [o, &[], &[], &[], &[]]), 10);
        assert!(bad_ops(&[0x01, DELTA_COPY, 0x0a, 0x80, 0x00]).is_err());
        assert!(bad_ops(&[0x01, DELTA_COPY, 0x0a, 0x00]).is_ok());
        assert!(bad_ops(&[0x01, DELTA_COPY, 0x0a, 0x00, 0x00]).is_err());
        assert!(bad_ops(&[0x01, 3, 0x0a, 0x00]).is_err());
        assert!(bad_ops(&[0x00]).is_err());
        assert!(bad_ops(&ops(&[(DELTA_COPY, 0, 0), (DELTA_COPY, 10, 0)])).is_err());
        assert!(bad_ops(&ops(&[(DELTA_COPY, 11, 0)])).is_err());
        assert!(bad_ops(&ops(&[(DELTA_COPY, 9, 0)])).is_err());
        // One op per 16 bytes, plus one: 3 for a chunk of 32 bytes.
        let in_32 = |n: u64| {
            let mut list = vec![(DELTA_COPY, 1, 0); n as usize - 1];
            list.push((DELTA_COPY, 33 - n, 0));
            run(&base, &stored(0, [&ops(&list), &[], &[], &[], &[]]), 32)
        };
        assert!(in_32(3).is_ok());
        assert!(in_32(4).is_err());
        // D4: reads before the base or past its end.
        assert!(bad_ops(&ops(&[(DELTA_COPY, 10, -1)])).is_err());
        assert!(bad_ops(&ops(&[(DELTA_COPY, 10, 91)])).is_err());
        assert!(bad_ops(&ops(&[(DELTA_COPY, 10, 90)])).is_ok());
        // D2: which streams are there.
        let insert = ops(&[(DELTA_INSERT, 2, 0)]);
        let add = ops(&[(DELTA_ADD, 2, 0)]);
        let two = |mode, s: [&[u8]; 5]| run(&base, &stored(mode, s), 2);
        assert!(two(0, [&insert, &[], &[], &[], &[1, 2]]).is_ok());
        assert!(two(0, [&insert, &[], &[], &[], &[1]]).is_err());
        assert!(two(0, [&insert, &[], &[], &[], &[1, 2, 3]]).is_err());
        assert!(two(0, [&insert, &[], &[], &[], &[]]).is_err());
        assert!(two(0, [&insert, &[1, 2], &[], &[], &[1, 2]]).is_err());
        assert!(two(1, [&insert, &[0], &[1], &[], &[1, 2]]).is_err());
        assert!(two(0, [&add, &[1, 2], &[], &[], &[]]).is_ok());
        assert!(two(0, [&add, &[1], &[], &[], &[]]).is_err());
        assert!(two(0, [&add, &[1, 2], &[1], &[], &[]]).is_err());
        assert!(two(0, [&add, &[1, 2], &[], &[], &[9]]).is_err());
        // Mode 1: gaps, starts and continuations.
        assert_eq!(two(1, [&add, &[1], &[3], &[], &[]]).unwrap(), [7, 10]);
        assert_eq!(two(1, [&add, &[0, 0], &[3], &[4], &[]]).unwrap(), [10, 11]);
        assert!(two(1, [&add, &[], &[3], &[], &[]]).is_err());
        assert!(two(1, [&add, &[2], &[3], &[], &[]]).is_err());
        assert!(two(1, [&add, &[0, 0], &[3], &[], &[]]).is_err());
        assert!(two(1, [&add, &[0, 0], &[3, 4], &[], &[]]).is_err());
        assert!(two(1, [&add, &[1], &[0], &[], &[]]).is_err());
        assert!(two(1, [&add, &[1], &[3], &[4], &[]]).is_err());
        assert!(two(1, [&add, &[1], &[3, 4], &[5], &[]]).is_err());
        assert!(two(1, [&add, &[0x80, 0x01], &[3], &[], &[]]).is_err());
    }

    #[test]
    fn the_bounds_cover_the_largest_legal_chunk() {
        assert_eq!(max_delta_ops(4096), 257);
        assert_eq!(max_delta_ops(15), 1);
        // 257 ops of a 4-byte length and a 10-byte seek, after a 2-byte
        // count: within the bound.
        assert!(2 + 257 * (1 + 4 + 10) <= max_delta_ops_stream_len(4096));
        assert_eq!(
            max_delta_ops_stream_len(16 << 20),
            10 + 15 * ((1 << 20) + 1)
        );
    }
}
