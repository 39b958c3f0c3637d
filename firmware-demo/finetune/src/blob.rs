//! The exported blob: pre-trained weights, shifted-domain samples and the
//! fine-tuning hyper-parameters chosen on the host, in one little-endian byte string.
//!
//! Layout (all integers and floats little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `OCFT` |
//! | 4 | 2 | format version ([`VERSION`]) |
//! | 6 | 2 | inputs, 8: hidden, 10: outputs (`u16` each, must match [`crate::model`]) |
//! | 12 | 2 | training samples `n_train`; 14: test samples `n_test` (`u16`) |
//! | 16 | 36 | [`Hyper`] |
//! | 52 | 2 | upright (source-domain) held-out samples `n_source` (`u16`) |
//! | 54 | 10 | reserved, zero |
//! | 64 | 4·[`N_PARAMS`] | parameters (`f32`), [`Params`] order |
//! | … | `n_train` | training labels, then `n_train`·[`INPUTS`] pixels |
//! | … | `n_test` | test labels, then `n_test`·[`INPUTS`] pixels |
//! | … | `n_source` | upright held-out labels, then `n_source`·[`INPUTS`] pixels |

use crate::model::{Params, HIDDEN, INPUTS, N_PARAMS, OUTPUTS};

/// The blob's magic bytes.
pub const MAGIC: [u8; 4] = *b"OCFT";
/// The format version this crate reads and writes.
pub const VERSION: u16 = 2;
/// Header size in bytes.
pub const HEADER_LEN: usize = 64;

/// Why a blob could not be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BlobError {
    /// The bytes do not start with [`MAGIC`].
    BadMagic,
    /// A format version this crate does not know.
    Version(u16),
    /// The model dimensions differ from [`crate::model`]'s.
    Dimensions,
    /// Shorter or longer than the header says.
    Length {
        /// Bytes the header implies.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// A label outside `0..10`.
    Label(u8),
    /// A hyper-parameter that makes no sense (zero steps or batch, non-finite or negative lr).
    Hyper,
}

impl core::fmt::Display for BlobError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadMagic => write!(
                f,
                "not a fine-tuning blob (bad magic); re-run the export tool"
            ),
            Self::Version(v) => write!(
                f,
                "blob format version {v}, expected {VERSION}; re-run the export tool"
            ),
            Self::Dimensions => write!(
                f,
                "blob model dimensions differ from this build's; re-run the export tool"
            ),
            Self::Length { expected, found } => {
                write!(f, "blob is {found} bytes, its header implies {expected}; the file is truncated or corrupt")
            }
            Self::Label(l) => write!(f, "label {l} outside 0..10 in blob"),
            Self::Hyper => write!(f, "invalid hyper-parameters in blob"),
        }
    }
}

impl core::error::Error for BlobError {}

/// Fine-tuning hyper-parameters, chosen on the host and carried in the blob.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Hyper {
    /// Optimizer steps of each fine-tuning run.
    pub steps: u32,
    /// Samples per step.
    pub batch: u32,
    /// Shuffle seed (both runs see the same sample order).
    pub seed: u32,
    /// 1cycle peak learning rate (`OneCycleConfig::pytorch(max_lr, steps)`).
    pub onecycle_max_lr: f32,
    /// The constant learning rate (best of the host grid).
    pub constant_lr: f32,
    /// The constant run's momentum.
    pub constant_momentum: f32,
    /// Rotation of the shifted domain, degrees (documentation only).
    pub angle_deg: f32,
    /// 1 = fine-tune all layers, 0 = only the last layer.
    pub first_layer: u32,
    /// Pre-training accuracy on the unshifted host test set, basis points (documentation only).
    pub source_acc_bp: u32,
}

impl Hyper {
    fn check(&self) -> Result<(), BlobError> {
        let lr_ok = |x: f32| x.is_finite() && x > 0.0;
        let mom_ok = |x: f32| x.is_finite() && (0.0..1.0).contains(&x);
        if self.steps == 0
            || self.batch == 0
            || !lr_ok(self.onecycle_max_lr)
            || !lr_ok(self.constant_lr)
            || !mom_ok(self.constant_momentum)
            || self.first_layer > 1
        {
            return Err(BlobError::Hyper);
        }
        Ok(())
    }
}

/// A parsed blob, borrowing the bytes (zero-copy: samples stay in flash).
#[derive(Clone, Copy, Debug)]
pub struct Blob<'a> {
    /// Hyper-parameters.
    pub hyper: Hyper,
    params: &'a [u8],
    train_labels: &'a [u8],
    train_pixels: &'a [u8],
    test_labels: &'a [u8],
    test_pixels: &'a [u8],
    source_labels: &'a [u8],
    source_pixels: &'a [u8],
}

/// Total blob length for the given sample counts (fine-tuning, shifted test,
/// upright held-out).
#[must_use]
pub const fn encoded_len(n_train: usize, n_test: usize, n_source: usize) -> usize {
    HEADER_LEN + 4 * N_PARAMS + (n_train + n_test + n_source) * (1 + INPUTS)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_bits(u32_at(b, at))
}

impl<'a> Blob<'a> {
    /// Parses and checks `bytes`.
    ///
    /// # Errors
    /// Any [`BlobError`]: wrong magic, version, dimensions or length, a bad label
    /// or hyper-parameter.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BlobError> {
        if bytes.len() < HEADER_LEN {
            return Err(BlobError::Length {
                expected: HEADER_LEN,
                found: bytes.len(),
            });
        }
        if bytes[..4] != MAGIC {
            return Err(BlobError::BadMagic);
        }
        let version = u16_at(bytes, 4);
        if version != VERSION {
            return Err(BlobError::Version(version));
        }
        if [u16_at(bytes, 6), u16_at(bytes, 8), u16_at(bytes, 10)]
            != [INPUTS as u16, HIDDEN as u16, OUTPUTS as u16]
        {
            return Err(BlobError::Dimensions);
        }
        let n_train = usize::from(u16_at(bytes, 12));
        let n_test = usize::from(u16_at(bytes, 14));
        let n_source = usize::from(u16_at(bytes, 52));
        let expected = encoded_len(n_train, n_test, n_source);
        if bytes.len() != expected {
            return Err(BlobError::Length {
                expected,
                found: bytes.len(),
            });
        }
        let hyper = Hyper {
            steps: u32_at(bytes, 16),
            batch: u32_at(bytes, 20),
            seed: u32_at(bytes, 24),
            onecycle_max_lr: f32_at(bytes, 28),
            constant_lr: f32_at(bytes, 32),
            constant_momentum: f32_at(bytes, 36),
            angle_deg: f32_at(bytes, 40),
            first_layer: u32_at(bytes, 44),
            source_acc_bp: u32_at(bytes, 48),
        };
        hyper.check()?;
        let (params, rest) = bytes[HEADER_LEN..].split_at(4 * N_PARAMS);
        let (train_labels, rest) = rest.split_at(n_train);
        let (train_pixels, rest) = rest.split_at(n_train * INPUTS);
        let (test_labels, rest) = rest.split_at(n_test);
        let (test_pixels, rest) = rest.split_at(n_test * INPUTS);
        let (source_labels, source_pixels) = rest.split_at(n_source);
        if let Some(&l) = train_labels
            .iter()
            .chain(test_labels)
            .chain(source_labels)
            .find(|&&l| usize::from(l) >= OUTPUTS)
        {
            return Err(BlobError::Label(l));
        }
        Ok(Self {
            hyper,
            params,
            train_labels,
            train_pixels,
            test_labels,
            test_pixels,
            source_labels,
            source_pixels,
        })
    }

    /// Copies the pre-trained parameters into `out`.
    pub fn load_params(&self, out: &mut Params) {
        for (w, b) in out.0.iter_mut().zip(self.params.chunks_exact(4)) {
            *w = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }

    /// Number of fine-tuning (training) samples.
    #[must_use]
    pub fn n_train(&self) -> usize {
        self.train_labels.len()
    }

    /// Number of held-out test samples.
    #[must_use]
    pub fn n_test(&self) -> usize {
        self.test_labels.len()
    }

    /// Training sample `i`: pixels and label, `None` out of range.
    #[must_use]
    pub fn train_sample(&self, i: usize) -> Option<(&'a [u8; INPUTS], usize)> {
        sample(self.train_labels, self.train_pixels, i)
    }

    /// Test sample `i`: pixels and label, `None` out of range.
    #[must_use]
    pub fn test_sample(&self, i: usize) -> Option<(&'a [u8; INPUTS], usize)> {
        sample(self.test_labels, self.test_pixels, i)
    }

    /// Number of upright (source-domain) held-out samples: the forgetting check.
    #[must_use]
    pub fn n_source(&self) -> usize {
        self.source_labels.len()
    }

    /// Upright held-out sample `i`: pixels and label, `None` out of range.
    #[must_use]
    pub fn source_sample(&self, i: usize) -> Option<(&'a [u8; INPUTS], usize)> {
        sample(self.source_labels, self.source_pixels, i)
    }
}

fn sample<'a>(labels: &'a [u8], pixels: &'a [u8], i: usize) -> Option<(&'a [u8; INPUTS], usize)> {
    let label = *labels.get(i)?;
    let px = pixels.get(i * INPUTS..(i + 1) * INPUTS)?;
    Some((px.try_into().ok()?, usize::from(label)))
}

/// The parts of a blob to write.
#[derive(Clone, Copy, Debug)]
pub struct Parts<'a> {
    /// Hyper-parameters.
    pub hyper: Hyper,
    /// Pre-trained parameters.
    pub params: &'a Params,
    /// Training labels (`0..10`).
    pub train_labels: &'a [u8],
    /// Training pixels, `INPUTS` per sample.
    pub train_pixels: &'a [u8],
    /// Test labels.
    pub test_labels: &'a [u8],
    /// Test pixels.
    pub test_pixels: &'a [u8],
    /// Upright held-out labels (forgetting check).
    pub source_labels: &'a [u8],
    /// Upright held-out pixels.
    pub source_pixels: &'a [u8],
}

/// Writes `parts` into `out` (exactly [`encoded_len`] bytes) and returns the length written.
///
/// # Errors
/// [`BlobError::Length`] when `out` is too short or the pixel and label counts
/// disagree; [`BlobError::Label`] and [`BlobError::Hyper`] as for [`Blob::parse`].
pub fn encode(parts: &Parts<'_>, out: &mut [u8]) -> Result<usize, BlobError> {
    let (n_train, n_test, n_source) = (
        parts.train_labels.len(),
        parts.test_labels.len(),
        parts.source_labels.len(),
    );
    if parts.train_pixels.len() != n_train * INPUTS
        || parts.test_pixels.len() != n_test * INPUTS
        || parts.source_pixels.len() != n_source * INPUTS
    {
        return Err(BlobError::Length {
            expected: (n_train + n_test + n_source) * INPUTS,
            found: parts.train_pixels.len() + parts.test_pixels.len() + parts.source_pixels.len(),
        });
    }
    let largest = n_train.max(n_test).max(n_source);
    if largest > usize::from(u16::MAX) {
        return Err(BlobError::Length {
            expected: usize::from(u16::MAX),
            found: largest,
        });
    }
    let len = encoded_len(n_train, n_test, n_source);
    if out.len() < len {
        return Err(BlobError::Length {
            expected: len,
            found: out.len(),
        });
    }
    parts.hyper.check()?;
    if let Some(&l) = parts
        .train_labels
        .iter()
        .chain(parts.test_labels)
        .chain(parts.source_labels)
        .find(|&&l| usize::from(l) >= OUTPUTS)
    {
        return Err(BlobError::Label(l));
    }
    let out = &mut out[..len];
    out.fill(0);
    out[..4].copy_from_slice(&MAGIC);
    let h = &parts.hyper;
    let u16s = [
        VERSION,
        INPUTS as u16,
        HIDDEN as u16,
        OUTPUTS as u16,
        n_train as u16,
        n_test as u16,
    ];
    for (i, v) in u16s.iter().enumerate() {
        out[4 + 2 * i..6 + 2 * i].copy_from_slice(&v.to_le_bytes());
    }
    out[52..54].copy_from_slice(&(n_source as u16).to_le_bytes());
    let words = [
        h.steps,
        h.batch,
        h.seed,
        h.onecycle_max_lr.to_bits(),
        h.constant_lr.to_bits(),
        h.constant_momentum.to_bits(),
        h.angle_deg.to_bits(),
        h.first_layer,
        h.source_acc_bp,
    ];
    for (i, v) in words.iter().enumerate() {
        out[16 + 4 * i..20 + 4 * i].copy_from_slice(&v.to_le_bytes());
    }
    let mut at = HEADER_LEN;
    for w in parts.params.as_slice() {
        out[at..at + 4].copy_from_slice(&w.to_le_bytes());
        at += 4;
    }
    for chunk in [
        parts.train_labels,
        parts.train_pixels,
        parts.test_labels,
        parts.test_pixels,
        parts.source_labels,
        parts.source_pixels,
    ] {
        out[at..at + chunk.len()].copy_from_slice(chunk);
        at += chunk.len();
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYPER: Hyper = Hyper {
        steps: 10,
        batch: 4,
        seed: 1,
        onecycle_max_lr: 0.1,
        constant_lr: 0.01,
        constant_momentum: 0.9,
        angle_deg: 40.0,
        first_layer: 1,
        source_acc_bp: 9700,
    };
    const N: usize = encoded_len(2, 1, 1);

    fn example(buf: &mut [u8; N]) {
        let mut params = Params::zeroed();
        params.0[5] = -1.5;
        let train_px = [7u8; 2 * INPUTS];
        let test_px = [9u8; INPUTS];
        let source_px = [5u8; INPUTS];
        let parts = Parts {
            hyper: HYPER,
            params: &params,
            train_labels: &[3, 4],
            train_pixels: &train_px,
            test_labels: &[9],
            test_pixels: &test_px,
            source_labels: &[2],
            source_pixels: &source_px,
        };
        assert_eq!(encode(&parts, buf), Ok(N));
    }

    #[test]
    fn round_trip() {
        let mut buf = [0u8; N];
        example(&mut buf);
        let blob = Blob::parse(&buf).unwrap();
        assert_eq!(blob.hyper, HYPER);
        assert_eq!((blob.n_train(), blob.n_test()), (2, 1));
        let mut p = Params::zeroed();
        blob.load_params(&mut p);
        assert_eq!(p.0[5], -1.5);
        assert_eq!(blob.train_sample(1).map(|(px, l)| (px[0], l)), Some((7, 4)));
        assert_eq!(
            blob.test_sample(0).map(|(px, l)| (px[195], l)),
            Some((9, 9))
        );
        assert!(blob.test_sample(1).is_none());
        assert_eq!(blob.n_source(), 1);
        assert_eq!(
            blob.source_sample(0).map(|(px, l)| (px[0], px[195], l)),
            Some((5, 5, 2))
        );
        assert!(blob.source_sample(1).is_none());
    }

    #[test]
    fn corrupt_blobs_are_typed_errors() {
        let mut buf = [0u8; N];
        example(&mut buf);
        assert_eq!(
            Blob::parse(&buf[..N - 1]).unwrap_err(),
            BlobError::Length {
                expected: N,
                found: N - 1
            }
        );
        assert_eq!(
            Blob::parse(&buf[..3]).unwrap_err(),
            BlobError::Length {
                expected: HEADER_LEN,
                found: 3
            }
        );
        let mut bad = buf;
        bad[0] = b'X';
        assert_eq!(Blob::parse(&bad).unwrap_err(), BlobError::BadMagic);
        let mut bad = buf;
        bad[4] = 1;
        assert_eq!(Blob::parse(&bad).unwrap_err(), BlobError::Version(1));
        let mut bad = buf;
        bad[N - INPUTS - 1] = 11; // the upright held-out label
        assert_eq!(Blob::parse(&bad).unwrap_err(), BlobError::Label(11));
        let mut bad = buf;
        bad[8] = 33;
        assert_eq!(Blob::parse(&bad).unwrap_err(), BlobError::Dimensions);
        let mut bad = buf;
        bad[HEADER_LEN + 4 * N_PARAMS + 1] = 10;
        assert_eq!(Blob::parse(&bad).unwrap_err(), BlobError::Label(10));
        let mut bad = buf;
        bad[16..20].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(Blob::parse(&bad).unwrap_err(), BlobError::Hyper);
    }
}
