//! The varints of delta chunks (SPEC.md, "Delta chunks", D2): unsigned
//! big-endian base 128, minimal, at most 10 bytes; signed values through
//! zigzag.
//!
//! Big-endian (most significant group first) rather than LEB128, because
//! the small values that dominate a delta's streams then share their
//! last byte's position, which compresses a little better.

/// Most bytes in one varint: 64 bits in groups of 7.
pub const MAX_VARINT_LEN: usize = 10;

/// Continuation bit: set on every byte of a varint but the last.
const MORE: u8 = 0x80;

/// Appends `value` as a minimal big-endian base-128 varint.
pub fn put_varint(out: &mut Vec<u8>, value: u64) {
    // Number of 7-bit groups: at least one, so that 0 is one byte.
    let bits = 64u32.saturating_sub(value.leading_zeros()).max(1);
    let groups = bits.div_ceil(7);
    for g in (0..groups).rev() {
        let group = (value.checked_shr(g.saturating_mul(7)).unwrap_or(0) & 0x7f) as u8;
        out.push(if g == 0 { group } else { group | MORE });
    }
}

/// Reads one varint at `*at` in `data`, advancing `*at` past it. Refuses
/// one that runs past the end, starts with 0x80 (not minimal), or is
/// longer than 10 bytes or larger than 2^64 − 1.
pub fn read_varint(data: &[u8], at: &mut usize) -> Result<u64, &'static str> {
    let mut value: u64 = 0;
    for i in 0..MAX_VARINT_LEN {
        let byte = *data
            .get(at.saturating_add(i))
            .ok_or("a varint runs past the end of its stream (D2)")?;
        if i == 0 && byte == MORE {
            return Err("a varint is not minimal (D2)");
        }
        if value > u64::MAX >> 7 {
            return Err("a varint is larger than 2^64 - 1 (D2)");
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & MORE == 0 {
            *at = at.saturating_add(i).saturating_add(1);
            return Ok(value);
        }
    }
    Err("a varint is longer than 10 bytes (D2)")
}

/// Zigzag: 0, −1, 1, −2, … → 0, 1, 2, 3, …, so that small seeks either
/// way are short varints.
pub fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// The inverse of [`zigzag`].
pub fn unzigzag(value: u64) -> i64 {
    // 0 or all ones: the sign of the value.
    let sign = ((value & 1) as i64).wrapping_neg();
    ((value >> 1) as i64) ^ sign
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_are_minimal() {
        let cases: [(u64, &[u8]); 6] = [
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0x81, 0x00]),
            (300, &[0x82, 0x2c]),
            (16_384, &[0x81, 0x80, 0x00]),
            (
                u64::MAX,
                &[0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
            ),
        ];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out, bytes, "{value}");
            let mut at = 0;
            assert_eq!(read_varint(&out, &mut at), Ok(value));
            assert_eq!(at, out.len());
        }
        for bad in [
            &[0x80, 0x01][..],
            &[0x81][..],
            &[][..],
            &[0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f][..],
            &[
                0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ][..],
        ] {
            assert!(read_varint(bad, &mut 0).is_err(), "{bad:x?}");
        }
        let mut at = 1;
        assert_eq!(read_varint(&[0xff, 0x05, 0x07], &mut at), Ok(5));
        assert_eq!(at, 2);
    }

    #[test]
    fn zigzag_maps_small_values_either_way_to_small_values() {
        for (s, u) in [
            (0i64, 0u64),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (i64::MAX, u64::MAX - 1),
        ] {
            assert_eq!(zigzag(s), u);
            assert_eq!(unzigzag(u), s);
        }
        assert_eq!(unzigzag(zigzag(i64::MIN)), i64::MIN);
        assert_eq!(zigzag(i64::MIN), u64::MAX);
    }
}
