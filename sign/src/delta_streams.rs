//! Writes one chunk's delta ops as the stored bytes of a delta chunk
//! (SPEC.md, "Delta chunks", D1–D2): a header and up to five zstd frames.
//!
//! The add bytes are written sparse (zero-run lengths, run starts, run
//! continuations) and, when at least a tenth of them are nonzero, also
//! dense (as they are), and the smaller is kept: relocated code makes them
//! mostly zero with scattered nonzero bytes, which zstd compresses far
//! better once the zeros are taken out, while a chunk of real edits
//! compresses better dense. Below a tenth, dense never won on the measured
//! releases, and compressing it cost a third of the writer's time.

use crate::delta::ChunkOps;
use hpk_format::{
    DELTA_HEADER_LEN, DELTA_INSERT, DELTA_MODE_DENSE, DELTA_MODE_SPARSE, MAX_CHUNK_SIZE,
    put_varint, zigzag,
};
use std::io;

/// zstd level of every stream: they are small, and the highest regular
/// level costs little and gains most (SPEC.md W6).
pub(crate) const STREAM_LEVEL: i32 = 19;

/// A fast level, to rank candidates before the chosen one is written at
/// [`STREAM_LEVEL`]: on the measured releases it picks the same candidate
/// but for 0.3 % of the size, at a sixth of the cost.
pub(crate) const RANKING_LEVEL: i32 = 3;

/// Dense add bytes are tried only when at least one in this many is
/// nonzero.
const DENSE_WHEN_ONE_IN: usize = 10;

/// Compresses the streams of delta chunks; one per worker thread.
pub(crate) struct StreamWriter {
    zstd: zstd::bulk::Compressor<'static>,
}

impl StreamWriter {
    /// A writer whose frames are single-segment (SPEC.md D1): a window as
    /// large as the largest stream, which zstd shrinks to the stream it
    /// compresses, so that Window_Size is the stream's length; content size
    /// on, checksum and dictionary id off.
    pub(crate) fn new(level: i32) -> io::Result<StreamWriter> {
        use zstd::zstd_safe::CParameter;
        let mut zstd = zstd::bulk::Compressor::new(level)?;
        // The ops stream of a 16 MiB chunk is at most about 15.7 MB.
        zstd.set_parameter(CParameter::WindowLog(MAX_CHUNK_SIZE.ilog2()))?;
        zstd.set_parameter(CParameter::ChecksumFlag(false))?;
        zstd.set_parameter(CParameter::ContentSizeFlag(true))?;
        zstd.set_parameter(CParameter::DictIdFlag(false))?;
        Ok(StreamWriter { zstd })
    }

    /// The stored bytes of a delta chunk holding `ops`: mode 0 or 1,
    /// whichever is smaller (0 on a tie; 1 without trying 0 when fewer
    /// than a tenth of the add bytes are nonzero).
    pub(crate) fn write(&mut self, ops: &ChunkOps) -> io::Result<Vec<u8>> {
        let ops_frame = self.frame(&ops_stream(ops))?;
        let ins = self.frame(&ops.inserts)?;
        let nonzero = ops.adds.iter().filter(|&&b| b != 0).count();
        let try_dense = nonzero == 0 || nonzero.saturating_mul(DENSE_WHEN_ONE_IN) >= ops.adds.len();
        let mut mode = DELTA_MODE_DENSE;
        let mut adds = None;
        if try_dense {
            adds = Some([self.frame(&ops.adds)?, Vec::new(), Vec::new()]);
        }
        if nonzero > 0 {
            let (gaps, starts, continuations) = sparse(&ops.adds);
            let sparse = [
                self.frame(&gaps)?,
                self.frame(&starts)?,
                self.frame(&continuations)?,
            ];
            let total = |frames: &[Vec<u8>; 3]| frames.iter().map(Vec::len).sum::<usize>();
            if adds
                .as_ref()
                .is_none_or(|dense| total(&sparse) < total(dense))
            {
                mode = DELTA_MODE_SPARSE;
                adds = Some(sparse);
            }
        }
        // Dense is tried whenever sparse is not.
        let [s1, s2, s3] = adds.ok_or_else(|| io::Error::other("no add stream was written"))?;
        let frames = [ops_frame, s1, s2, s3, ins];
        let length: usize = frames.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(DELTA_HEADER_LEN.saturating_add(length));
        out.push(mode);
        for frame in &frames {
            let len = u32::try_from(frame.len())
                .map_err(|_| io::Error::other("a delta stream is over 4 GiB"))?;
            out.extend_from_slice(&len.to_le_bytes());
        }
        for frame in &frames {
            out.extend_from_slice(frame);
        }
        Ok(out)
    }

    /// One stream's frame; an empty stream has none.
    fn frame(&mut self, stream: &[u8]) -> io::Result<Vec<u8>> {
        if stream.is_empty() {
            return Ok(Vec::new());
        }
        self.zstd.compress(stream)
    }
}

/// The ops stream (D2): the count, the kinds, the lengths, then the seeks
/// of the copy and add ops, each column together so that like values sit
/// next to each other.
fn ops_stream(ops: &ChunkOps) -> Vec<u8> {
    let mut out = Vec::with_capacity(ops.ops.len().saturating_mul(6).saturating_add(4));
    put_varint(&mut out, ops.ops.len() as u64);
    out.extend(ops.ops.iter().map(|op| op.kind));
    for op in &ops.ops {
        put_varint(&mut out, op.len as u64);
    }
    for op in ops.ops.iter().filter(|op| op.kind != DELTA_INSERT) {
        put_varint(&mut out, zigzag(op.seek));
    }
    out
}

/// The sparse form of the add bytes (D2, mode 1): for each nonzero byte,
/// the zero bytes since the previous nonzero one (s1), and the byte itself
/// in s2 if it starts a run of nonzero bytes, in s3 if it continues one.
fn sparse(adds: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (mut gaps, mut starts, mut continuations) = (Vec::new(), Vec::new(), Vec::new());
    let mut gap = 0u64;
    let mut in_run = false;
    for &byte in adds {
        if byte == 0 {
            gap = gap.saturating_add(1);
            in_run = false;
            continue;
        }
        put_varint(&mut gaps, gap);
        if in_run {
            continuations.push(byte);
        } else {
            starts.push(byte);
        }
        gap = 0;
        in_run = true;
    }
    (gaps, starts, continuations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::tests::{codeish, encode_chunks, noise};
    use hpk_format::{
        ChunkDecoder, ChunkEncoding, ChunkEntry, Compression, DeltaBase, Digest, PayloadDescriptor,
        PayloadName,
    };

    /// The chunk of `len` bytes that `stored` rebuilds from `base`, by the
    /// format's decoder.
    fn decode(base: &[u8], stored: &[u8], len: usize) -> Vec<u8> {
        let desc = PayloadDescriptor {
            name: PayloadName::new("a.so").unwrap(),
            executable: false,
            compression: Compression::Delta(DeltaBase {
                digest: Digest::of(base),
                size: base.len() as u64,
            }),
            size: len as u64,
            stored_size: stored.len() as u64,
            chunk_size: (len as u32).max(hpk_format::MIN_CHUNK_SIZE),
            chunk_count: 1,
            index_digest: Digest::default(),
            content_digest: Digest::default(),
        };
        let entry = ChunkEntry {
            stored_len: stored.len() as u32,
            encoding: ChunkEncoding::Delta,
            digest: Digest::of(stored),
        };
        let mut out = Vec::new();
        ChunkDecoder::new()
            .unwrap()
            .decode_with_base(&desc, 0, &entry, stored, &mut out, Some(&base.to_vec()))
            .unwrap();
        out
    }

    /// Writes every candidate of every chunk of `new` against `base` and
    /// decodes it with the format's decoder; returns the mode of each
    /// chunk's first candidate.
    fn through_the_decoder(base: &[u8], new: &[u8], chunk: u32) -> Vec<u8> {
        let mut writer = StreamWriter::new(STREAM_LEVEL).unwrap();
        let mut modes = Vec::new();
        for (i, candidates) in encode_chunks(base, new, chunk).iter().enumerate() {
            let start = i * chunk as usize;
            let content = &new[start..(start + chunk as usize).min(new.len())];
            for (k, ops) in candidates.iter().enumerate() {
                let stored = writer.write(ops).unwrap();
                if k == 0 {
                    modes.push(stored[0]);
                }
                assert!(
                    decode(base, &stored, content.len()) == content,
                    "chunk {i}, candidate {k}"
                );
            }
        }
        modes
    }

    #[test]
    fn relocated_code_is_written_sparse() {
        // 4-byte addresses every 64 bytes grew by 0x40: mostly-zero adds.
        let base = codeish(7, 300_000);
        let mut new = base.clone();
        for i in (0..new.len() - 4).step_by(64) {
            let v = u32::from_le_bytes(new[i..i + 4].try_into().unwrap()).wrapping_add(0x40);
            new[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }
        new.splice(5000..5000, noise(3, 999));
        let modes = through_the_decoder(&base, &new, 65_536);
        assert!(modes.contains(&DELTA_MODE_SPARSE), "{modes:?}");
    }

    #[test]
    fn dense_differences_are_written_dense() {
        // One add over the whole chunk, every difference nonzero: no zeros
        // to skip, so the dense form is smaller.
        let base = codeish(9, 8192);
        let adds: Vec<u8> = noise(5, 4096).iter().map(|n| n | 1).collect();
        let ops = ChunkOps {
            ops: vec![crate::delta::Op {
                kind: hpk_format::DELTA_ADD,
                len: 4096,
                seek: 100,
            }],
            adds,
            inserts: Vec::new(),
        };
        let stored = StreamWriter::new(STREAM_LEVEL)
            .unwrap()
            .write(&ops)
            .unwrap();
        assert_eq!(stored[0], DELTA_MODE_DENSE);
        let expected: Vec<u8> = base[100..4196]
            .iter()
            .zip(&ops.adds)
            .map(|(b, d)| b.wrapping_add(*d))
            .collect();
        assert!(decode(&base, &stored, 4096) == expected);
    }

    #[test]
    fn edits_inserts_and_identical_chunks_decode() {
        let base = codeish(11, 200_000);
        let mut new = base.clone();
        new.splice(70_000..70_000, noise(4, 5000));
        new.drain(150_000..160_000);
        for (k, r) in noise(8, 400).chunks(2).enumerate() {
            let i = (k * 997 + r[0] as usize) % new.len();
            new[i] ^= r[1] | 1;
        }
        through_the_decoder(&base, &new, 4096);
        through_the_decoder(&base, &new, 1 << 20);
        through_the_decoder(&base, &base, 65_536);
        through_the_decoder(b"", &new[..10_000], 4096);
    }

    #[test]
    fn sparse_form_splits_runs() {
        let (gaps, starts, continuations) = sparse(&[0, 0, 5, 6, 0, 7, 0, 0, 0, 8, 9, 1]);
        assert_eq!(gaps, [2, 0, 1, 3, 0, 0]);
        assert_eq!(starts, [5, 7, 8]);
        assert_eq!(continuations, [6, 9, 1]);
        assert_eq!(sparse(&[0, 0]), (vec![], vec![], vec![]));
        assert_eq!(sparse(&[4]), (vec![0], vec![4], vec![]));
    }
}
