//! Precompiled code for more than one CPU level in one file, best first: an
//! image built once runs the code made for the newest CPUs it lands on
//! (x86-64-v3: AVX2, BMI, FMA) and the portable code elsewhere. The host
//! loads the first tier wasmtime accepts: wasmtime refuses code that needs a
//! feature the running CPU lacks, so that check is the CPU's own, made at
//! start. One file keeps the tiers from ever being paired with another
//! build's: the component's digest covers them all.
//!
//! Layout: [`MAGIC`], then per tier a one-byte name length, the name, an
//! eight-byte little-endian length and that many bytes of `.cwasm`.

/// What a tiered file begins with (a `.cwasm` begins with ELF's magic, a
/// `.wasm` with `\0asm`).
pub const MAGIC: &[u8] = b"\0doc-proxy-code-tiers\x01";

/// One tier: its CPU level's name and its precompiled code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier<'a> {
    pub level: &'a str,
    pub code: &'a [u8],
}

/// The file holding `tiers`, in the order given (best first).
pub fn bundle(tiers: &[Tier<'_>]) -> Vec<u8> {
    let size = MAGIC.len() + tiers.iter().map(|t| 9 + t.level.len() + t.code.len()).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(MAGIC);
    for tier in tiers {
        let name = tier.level.as_bytes();
        out.push(u8::try_from(name.len()).expect("a level's name is short"));
        out.extend_from_slice(name);
        out.extend_from_slice(&(tier.code.len() as u64).to_le_bytes());
        out.extend_from_slice(tier.code);
    }
    out
}

/// The tiers of `bytes`: `None` when it is not a tiered file, an error when
/// it is one cut short or garbled.
pub fn read(bytes: &[u8]) -> Option<Result<Vec<Tier<'_>>, String>> {
    let mut rest = bytes.strip_prefix(MAGIC)?;
    let mut tiers = Vec::new();
    let cut = || "a tiered code file ends inside a tier".to_string();
    while !rest.is_empty() {
        let (&name_len, after) = rest.split_first().unwrap();
        let Some((name, after)) = after.split_at_checked(usize::from(name_len)) else {
            return Some(Err(cut()));
        };
        let Ok(level) = std::str::from_utf8(name) else {
            return Some(Err("a tier's name is not UTF-8".into()));
        };
        let Some((length, after)) = after.split_at_checked(8) else {
            return Some(Err(cut()));
        };
        let length = u64::from_le_bytes(length.try_into().unwrap());
        let Some((code, after)) = usize::try_from(length).ok().and_then(|l| after.split_at_checked(l)) else {
            return Some(Err(cut()));
        };
        tiers.push(Tier { level, code });
        rest = after;
    }
    if tiers.is_empty() {
        return Some(Err("a tiered code file holds no tier".into()));
    }
    Some(Ok(tiers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_read_back_as_written_in_order() {
        let tiers = [
            Tier {
                level: "x86-64-v3",
                code: b"fast",
            },
            Tier {
                level: "x86-64-v2",
                code: b"",
            },
        ];
        let file = bundle(&tiers);
        assert_eq!(read(&file), Some(Ok(tiers.to_vec())));
        assert_eq!(read(b"\0asm\x0d\0\x01\0"), None, "a component is not a tiered file");
        assert_eq!(read(b"\x7fELF"), None);
        for cut in 1..file.len() - MAGIC.len() {
            let short = &file[..file.len() - cut];
            if let Some(Ok(tiers)) = read(short) {
                // Cutting exactly the last (empty) tier's end is a shorter,
                // valid file only if it ends on a tier's boundary.
                assert_eq!(tiers.len(), 1, "{cut}");
                continue;
            }
            assert!(matches!(read(short), Some(Err(_))), "cut by {cut}");
        }
        assert_eq!(read(MAGIC), Some(Err("a tiered code file holds no tier".into())));
    }
}
