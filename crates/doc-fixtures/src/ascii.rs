//! The ASCII encodings PDF streams may wear in front of Flate
//! (`ASCIIHexDecode`, `ASCII85Decode`), for building such streams in tests.

/// `data` in hex digits, 64 to a line, ended by `>`.
pub fn hex(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 2 + data.len() / 32 + 1);
    for (i, b) in data.iter().enumerate() {
        if i > 0 && i % 32 == 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    out.push(b'>');
    out
}

/// `data` in ASCII85 as Adobe and reportlab write it: `z` for a whole group
/// of zeros, a short last group, lines of 64 characters, ended by `~>`.
pub fn base85(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 5 / 4 + 8);
    for group in data.chunks(4) {
        let mut word = [0u8; 4];
        word[..group.len()].copy_from_slice(group);
        let mut value = u32::from_be_bytes(word);
        if group.len() == 4 && value == 0 {
            out.push(b'z');
            continue;
        }
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = b'!' + (value % 85) as u8;
            value /= 85;
        }
        out.extend_from_slice(&digits[..group.len() + 1]);
    }
    let mut lines: Vec<u8> = out.chunks(64).collect::<Vec<_>>().join(&b'\n');
    lines.extend_from_slice(b"~>");
    lines
}
