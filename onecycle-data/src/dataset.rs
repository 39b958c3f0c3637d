//! In-memory data sets: `u8` images, normalised to `f32` as they are read, and `u8` labels.

/// Per-channel normalisation: `x ↦ (x / 255 - mean[c]) / std[c]`.
///
/// Computed once on the *training* split and applied to both splits, so that the
/// test set is seen through the statistics a model was trained with.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalization {
    /// Mean of the pixel values scaled to `[0, 1]`, per channel.
    pub mean: Vec<f32>,
    /// Population standard deviation of the scaled values, per channel (`1.0`
    /// where the channel is constant, so that nothing divides by zero).
    pub std: Vec<f32>,
}

impl Normalization {
    /// Statistics of `pixels` (`N × channels × plane` bytes, row-major), computed
    /// exactly in integers (sums of bytes and of their squares) and converted once.
    ///
    /// ```
    /// use onecycle_data::Normalization;
    /// // One channel, values 0 and 255: mean 0.5, std 0.5.
    /// let n = Normalization::from_pixels(&[0, 255], 1, 1);
    /// assert_eq!((n.mean, n.std), (vec![0.5], vec![0.5]));
    /// ```
    #[must_use]
    pub fn from_pixels(pixels: &[u8], channels: usize, plane: usize) -> Self {
        let channels = channels.max(1);
        let mut sum = vec![0u64; channels];
        let mut sum_sq = vec![0u64; channels];
        let mut count = vec![0u64; channels];
        if plane > 0 {
            for (i, chunk) in pixels.chunks(plane).enumerate() {
                let c = i % channels;
                for &p in chunk {
                    sum[c] += u64::from(p);
                    sum_sq[c] += u64::from(p) * u64::from(p);
                }
                count[c] += chunk.len() as u64;
            }
        }
        let mut mean = Vec::with_capacity(channels);
        let mut std = Vec::with_capacity(channels);
        for c in 0..channels {
            if count[c] == 0 {
                mean.push(0.0);
                std.push(1.0);
                continue;
            }
            let n = count[c] as f64;
            let m = sum[c] as f64 / n / 255.0;
            let var = (sum_sq[c] as f64 / n / (255.0 * 255.0) - m * m).max(0.0);
            let s = var.sqrt();
            mean.push(m as f32);
            std.push(if s > 1e-12 { s as f32 } else { 1.0 });
        }
        Self { mean, std }
    }

    /// Normalises `pixels` (`N × channels × plane`) into `f32`s.
    #[must_use]
    pub fn apply(&self, pixels: &[u8], plane: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(pixels.len());
        self.extend_normalised(pixels, 0, plane, &mut out);
        out
    }

    /// Appends the normalised values of `pixels`, a piece of an `N × channels × plane` array
    /// that starts at byte `start` of it (the start fixes each byte's channel), to `out`.
    ///
    /// ```
    /// use onecycle_data::Normalization;
    /// let n = Normalization { mean: vec![0.0, 1.0], std: vec![1.0, 1.0] };
    /// let mut out = Vec::new();
    /// // Planes of 2 bytes: bytes 3..5 are the end of channel 1 and the start of channel 0.
    /// n.extend_normalised(&[255, 51], 3, 2, &mut out);
    /// assert_eq!(out, vec![0.0, 0.2]);
    /// ```
    pub fn extend_normalised(&self, pixels: &[u8], start: usize, plane: usize, out: &mut Vec<f32>) {
        let tables = self.tables();
        let plane = plane.max(1);
        let (mut pos, mut rest) = (start, pixels);
        out.reserve(pixels.len());
        while !rest.is_empty() {
            let (now, later) = rest.split_at((plane - pos % plane).min(rest.len()));
            let t = &tables[(pos / plane) % tables.len()];
            out.extend(now.iter().map(|&p| t[usize::from(p)]));
            pos += now.len();
            rest = later;
        }
    }

    /// One 256-entry table per channel: exact, and the same value for the same byte.
    fn tables(&self) -> Vec<[f32; 256]> {
        (0..self.mean.len().max(1))
            .map(|c| {
                let mean = f64::from(self.mean.get(c).copied().unwrap_or(0.0));
                let std = f64::from(self.std.get(c).copied().unwrap_or(1.0));
                let mut t = [0f32; 256];
                for (v, slot) in t.iter_mut().enumerate() {
                    *slot = ((v as f64 / 255.0 - mean) / std) as f32;
                }
                t
            })
            .collect()
    }
}

/// A labelled image data set held in memory.
///
/// The images are raw bytes, `len() × channels × height × width`, row-major (`N×C×H×W`),
/// normalised with `normalization` as they are read (a batch at a time: a quarter of the
/// memory of holding `f32`s). The bytes are shared: [`Dataset::slice`] and
/// [`Dataset::take`] copy labels, never pixels. `labels[i]` is the class of image `i`, below
/// `classes`.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Raw image bytes, shared between a data set and its slices.
    bytes: std::sync::Arc<Vec<u8>>,
    /// Index in `bytes` (in images) of this set's first image.
    first: usize,
    /// Class of each image.
    pub labels: Vec<u8>,
    /// Channels per image (1 for MNIST, 3 for CIFAR-10).
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Number of classes.
    pub classes: usize,
    /// The normalisation applied to `pixels` as they are read (from the training split).
    pub normalization: Normalization,
}

/// A data set's training and test splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Training split.
    pub train: Dataset,
    /// Test split, normalised with the training split's statistics.
    pub test: Dataset,
}

impl Dataset {
    /// Builds a data set from raw bytes (`N×C×H×W`; a `Vec` is moved, a slice copied) and
    /// labels, to be normalised with `norm`.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub fn from_bytes(
        pixels: impl Into<Vec<u8>>,
        labels: Vec<u8>,
        channels: usize,
        height: usize,
        width: usize,
        classes: usize,
        norm: &Normalization,
    ) -> Self {
        Self {
            bytes: std::sync::Arc::new(pixels.into()),
            first: 0,
            labels,
            channels,
            height,
            width,
            classes,
            normalization: norm.clone(),
        }
    }

    /// Values per image: `channels × height × width`.
    #[must_use]
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Number of complete (image, label) items: `min(labels, pixels / image_len)`.
    #[must_use]
    pub fn len(&self) -> usize {
        let per = self.image_len();
        if per == 0 {
            return 0;
        }
        self.labels
            .len()
            .min((self.bytes.len() / per).saturating_sub(self.first))
    }

    /// Whether there are no items.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw bytes of all `len()` images.
    #[must_use]
    pub fn pixels(&self) -> &[u8] {
        let per = self.image_len();
        &self.bytes[self.first * per..(self.first + self.len()) * per]
    }

    /// The raw bytes of image `i`, or `None` past the end.
    #[must_use]
    pub fn pixels_of(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len() {
            return None;
        }
        let per = self.image_len();
        self.pixels().get(i * per..(i + 1) * per)
    }

    /// Appends the normalised image `i` to `out`; `None` (and nothing appended) past the end.
    ///
    /// ```
    /// use onecycle_data::{Dataset, Normalization};
    /// let norm = Normalization { mean: vec![0.0], std: vec![1.0] };
    /// let d = Dataset::from_bytes(&[0, 51, 102, 255], vec![0, 1, 2, 3], 1, 1, 1, 4, &norm);
    /// let mut out = vec![];
    /// assert!(d.extend_image(1, &mut out).is_some() && d.extend_image(9, &mut out).is_none());
    /// assert_eq!(out, vec![0.2]);
    /// ```
    pub fn extend_image(&self, i: usize, out: &mut Vec<f32>) -> Option<()> {
        let px = self.pixels_of(i)?;
        let start = i * self.image_len();
        self.normalization
            .extend_normalised(px, start, self.height * self.width, out);
        Some(())
    }

    /// The whole data set normalised, `len() × image_len()` values (a full `f32` copy: for
    /// tests and small sets; training and evaluation read a batch at a time).
    #[must_use]
    pub fn images(&self) -> Vec<f32> {
        let n = self.len() * self.image_len();
        let mut out = Vec::with_capacity(n);
        self.normalization
            .extend_normalised(self.pixels(), 0, self.height * self.width, &mut out);
        out
    }

    /// Keeps the first `n` items (all of them when `n >= len()`), for short runs.
    /// The normalisation stays that of the full training split.
    ///
    /// ```
    /// use onecycle_data::{Dataset, Normalization};
    /// let norm = Normalization { mean: vec![0.0], std: vec![1.0] };
    /// let d = Dataset::from_bytes(&[0, 51, 102, 255], vec![0, 1, 2, 3], 1, 1, 1, 4, &norm);
    /// let d = d.take(2);
    /// assert_eq!((d.len(), d.labels.as_slice()), (2, &[0, 1][..]));
    /// assert_eq!(d.images(), vec![0.0, 0.2]);
    /// ```
    #[must_use]
    pub fn take(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.labels.truncate(n);

        self
    }

    /// The first `limit` images, borrowed when that is all of them (no copy), else a copy
    /// of just those images.
    ///
    /// ```
    /// use onecycle_data::{Dataset, Normalization};
    /// use std::borrow::Cow;
    /// let norm = Normalization { mean: vec![0.0], std: vec![1.0] };
    /// let d = Dataset::from_bytes(&[0, 51, 102, 255], vec![0, 1, 2, 3], 1, 1, 1, 4, &norm);
    /// assert!(matches!(d.head(None), Cow::Borrowed(_)));
    /// assert!(matches!(d.head(Some(9)), Cow::Borrowed(_)));
    /// assert_eq!(d.head(Some(2)).labels, vec![0, 1]);
    /// ```
    #[must_use]
    pub fn head(&self, limit: Option<usize>) -> std::borrow::Cow<'_, Dataset> {
        match limit {
            Some(n) if n < self.len() => std::borrow::Cow::Owned(self.slice(0, n)),
            _ => std::borrow::Cow::Borrowed(self),
        }
    }

    /// Items `start..end` (both clamped to `len()`), sharing this set's bytes (only the labels
    /// are copied), with this set's normalisation: e.g. the validation slice held out at the end of a training split.
    ///
    /// ```
    /// use onecycle_data::{Dataset, Normalization};
    /// let norm = Normalization { mean: vec![0.0], std: vec![1.0] };
    /// let d = Dataset::from_bytes(&[0, 51, 102, 255], vec![0, 1, 2, 3], 1, 1, 1, 4, &norm);
    /// assert_eq!(d.slice(1, 3).labels, vec![1, 2]);
    /// assert_eq!(d.slice(3, 9).images(), vec![1.0]);
    /// assert!(d.slice(5, 2).is_empty());
    /// ```
    #[must_use]
    pub fn slice(&self, start: usize, end: usize) -> Dataset {
        let end = end.min(self.len());
        let start = start.min(end);
        Dataset {
            bytes: std::sync::Arc::clone(&self.bytes),
            first: self.first + start,
            labels: self.labels[start..end].to_vec(),
            channels: self.channels,
            height: self.height,
            width: self.width,
            classes: self.classes,
            normalization: self.normalization.clone(),
        }
    }
}

impl PartialEq for Dataset {
    /// Equal images (bytes), labels, shape and normalisation, however the bytes are shared.
    fn eq(&self, other: &Self) -> bool {
        self.pixels() == other.pixels()
            && self.labels == other.labels
            && (self.channels, self.height, self.width, self.classes)
                == (other.channels, other.height, other.width, other.classes)
            && self.normalization == other.normalization
    }
}
