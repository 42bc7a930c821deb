//! Builds the project's own test documents, byte for byte reproducibly:
//!
//! - [`pdf`]: a one-page PDF with a classic cross-reference table whose offsets
//!   are computed, and a Flate-compressed content stream with an indirect `/Length`
//!   (the same shape as the real upstream's file);
//! - [`png`]: a small RGB PNG from the `png` crate's encoder (and
//!   [`png_with_metadata`], one with compressed text and ICC chunks);
//! - [`corrupt_pdf`]: [`pdf`] after the lossy UTF-8 round trip that made the real
//!   upstream's `corrupt-dummy.pdf` (invalid sequences become U+FFFD, CR becomes LF).
//!
//! The dummy upstream component embeds these at build time, and the tests use them,
//! so nothing in the repo depends on files from outside it.

pub mod ascii;
pub mod hostile;
pub mod xref_stream;

use flate2::{write::ZlibEncoder, Compression};
use std::io::Write;

/// A deterministic pseudo-random sequence (an LCG), so fixtures are reproducible
/// yet compress about as well as real documents do.
fn noise(seed: u32) -> impl Iterator<Item = u32> {
    std::iter::successors(Some(seed), |x| {
        Some(x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223))
    })
    .map(|x| x >> 16)
}

/// A valid PDF of about the real upstream's size (~13 KB). Lines end in CRLF,
/// and a binary comment follows the header as writers do, so the lossy round
/// trip changes both.
pub fn pdf() -> Vec<u8> {
    let mut content = Vec::new();
    for (line, n) in noise(7).take(1500).enumerate() {
        let y = 800 - (line % 60) * 12;
        writeln!(
            content,
            "BT /F1 9 Tf 40 {y} Td (doc-proxy fixture line {line}: {n:05x}) Tj ET"
        )
        .expect("writing to a Vec");
    }
    let mut packed = ZlibEncoder::new(Vec::new(), Compression::best());
    packed.write_all(&content).expect("writing to a Vec");
    let packed = packed.finish().expect("writing to a Vec");

    let mut out: Vec<u8> = b"%PDF-1.4\r\n%\xe2\xe3\xcf\xd3\r\n".to_vec();
    let mut offsets = Vec::new();
    let mut object = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        write!(out, "{} 0 obj\r\n", offsets.len()).expect("writing to a Vec");
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\nendobj\r\n");
    };
    object(&mut out, b"<</Type/Catalog/Pages 2 0 R>>");
    object(&mut out, b"<</Type/Pages/Kids[3 0 R]/Count 1>>");
    object(
        &mut out,
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 120]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
    );
    let mut stream = b"<</Length 6 0 R/Filter/FlateDecode>>\r\nstream\r\n".to_vec();
    stream.extend_from_slice(&packed);
    stream.extend_from_slice(b"\r\nendstream");
    object(&mut out, &stream);
    object(&mut out, b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>");
    object(&mut out, packed.len().to_string().as_bytes());

    let xref_at = out.len();
    write!(out, "xref\r\n0 {}\r\n0000000000 65535 f\r\n", offsets.len() + 1).expect("writing to a Vec");
    for offset in &offsets {
        write!(out, "{offset:010} 00000 n\r\n").expect("writing to a Vec");
    }
    write!(
        out,
        "trailer\r\n<</Size {}/Root 1 0 R>>\r\nstartxref\r\n{xref_at}\r\n%%EOF\r\n",
        offsets.len() + 1
    )
    .expect("writing to a Vec");
    out
}

/// A valid 200×150 RGB PNG (a gradient with a little noise), of about the real
/// upstream's size (~48 KB).
pub fn png() -> Vec<u8> {
    let (width, height) = (200u32, 150u32);
    let mut grain = noise(11);
    let pixels: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .flat_map(|(x, y)| {
            let g = (grain.next().unwrap_or(0) % 24) as u8;
            [(x as u8).wrapping_add(g), (y as u8).wrapping_add(g), 160]
        })
        .collect();
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("writing to a Vec");
    writer.write_image_data(&pixels).expect("pixel count matches");
    writer.finish().expect("writing to a Vec");
    out
}

/// A valid 16x16 greyscale PNG as the `png` crate writes one with metadata:
/// a `zTXt`, a compressed `iTXt` and an `iCCP` chunk, each a few KB
/// inflated (the profile is not a real ICC profile: validation looks only at
/// its compression).
pub fn png_with_metadata() -> Vec<u8> {
    let text: String = noise(5).take(400).map(|n| format!("{n:04x} ")).collect();
    let profile: Vec<u8> = noise(3).take(3000).map(|n| (n % 7) as u8).collect();
    let mut info = png::Info::with_size(16, 16);
    info.color_type = png::ColorType::Grayscale;
    info.bit_depth = png::BitDepth::Eight;
    info.icc_profile = Some(profile.into());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::with_info(&mut out, info).expect("a valid header");
    encoder
        .add_ztxt_chunk("Comment".into(), text.clone())
        .expect("a Latin-1 keyword");
    let mut writer = encoder.write_header().expect("writing to a Vec");
    let mut itxt = png::text_metadata::ITXtChunk::new("Description", text);
    itxt.compressed = true;
    writer.write_text_chunk(&itxt).expect("writing to a Vec");
    writer.write_image_data(&[128u8; 16 * 16]).expect("pixel count matches");
    writer.finish().expect("writing to a Vec");
    out
}

/// The corrupt PDF the upstream serves one time in ten, made from [`pdf`].
pub fn corrupt_pdf() -> Vec<u8> {
    lossy_utf8_round_trip(&pdf())
}

/// What a text pipeline does to binary data: every invalid UTF-8 sequence
/// becomes U+FFFD (`EF BF BD`) and every carriage return becomes a line feed.
pub fn lossy_utf8_round_trip(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(bytes).replace('\r', "\n").into_bytes()
}

/// Every fixture with the file name the real upstream serves it under.
pub fn all() -> [(&'static str, Vec<u8>); 3] {
    [
        ("dummy.png", png()),
        ("dummy.pdf", pdf()),
        ("corrupt-dummy.pdf", corrupt_pdf()),
    ]
}

/// Writes [`all`] into `dir` (created if missing).
pub fn write_all(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in all() {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_reproducible() {
        assert_eq!(pdf(), pdf());
        assert_eq!(png(), png());
    }

    #[test]
    fn fixtures_are_about_the_real_upstreams_sizes() {
        let (pdf, png) = (pdf().len(), png().len());
        assert!((8_000..20_000).contains(&pdf), "pdf is {pdf} bytes");
        assert!((30_000..70_000).contains(&png), "png is {png} bytes");
    }

    #[test]
    fn corrupt_pdf_keeps_header_and_trailer_but_grows() {
        let (good, bad) = (pdf(), corrupt_pdf());
        assert!(bad.starts_with(b"%PDF-1.4"));
        assert!(bad.ends_with(b"%%EOF\n\n")); // CRLF became LF LF
        assert!(bad.len() > good.len());
        assert!(!bad.contains(&b'\r'));
    }
}
