//! MNIST as the trainer reads it (`onecycle-data`: fetched once, SHA-256 checked) and
//! turned into 14×14 samples, upright or rotated.

use std::path::Path;

use onecycle_data::{DatasetName, MNIST_SIDE};
use onecycle_finetune::model::INPUTS;

use crate::Result;

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

/// The raw bytes and labels of one split.
fn raw(data: &onecycle_data::Dataset) -> Split {
    Split {
        images: data.pixels().to_vec(),
        labels: data.labels.clone(),
    }
}

/// The training and test splits of MNIST in the data directory `data_dir` (as for
/// `onecycle --data-dir`), fetched there first when missing; every file's SHA-256 checked.
pub fn load(data_dir: &Path) -> Result<(Split, Split)> {
    let split = onecycle_data::load(DatasetName::Mnist, data_dir).map_err(|e| e.to_string())?;
    if (split.train.height, split.train.width) != (MNIST_SIDE, MNIST_SIDE) {
        return Err("MNIST images are not 28×28".into());
    }
    Ok((raw(&split.train), raw(&split.test)))
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
