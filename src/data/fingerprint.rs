//! A fingerprint of the exact image batch a network saw, written into result files so that a
//! resumed run or a merge of shards can tell whether two runs used the same images and labels,
//! whatever path the data was read from and whether or not the file changed since.

use sha2::{Digest, Sha256};

use super::cifar::ImageBatch;

impl ImageBatch {
    /// SHA-256, as lowercase hex, of the batch as the network receives it (after
    /// preprocessing): `n, channels, height, width` as little-endian u64, then the images as
    /// little-endian f32 (NCHW), then the labels as little-endian i64. In numpy:
    /// `sha256(np.array([n, c, h, w], "<u8").tobytes() + x.astype("<f4").tobytes() +
    /// y.astype("<i8").tobytes())`.
    pub fn sha256(&self) -> String {
        let mut hash = Sha256::new();
        for d in self.shape() {
            hash.update((d as u64).to_le_bytes());
        }
        // One update per chunk of values, not per value: a 224x224 batch is 38 MB.
        let mut bytes = Vec::with_capacity(4096 * 4);
        for chunk in self.images.chunks(4096) {
            bytes.clear();
            bytes.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
            hash.update(&bytes);
        }
        for l in &self.labels {
            hash.update(l.to_le_bytes());
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> ImageBatch {
        ImageBatch {
            images: vec![0.5, -1.25, 3.0, 0.0, 1e-3, -0.0, 2.5, 7.75],
            labels: vec![3, 9],
            n: 2,
            channels: 1,
            height: 2,
            width: 2,
            indices: vec![4, 1],
        }
    }

    /// The value Python's `hashlib.sha256` gives for the documented layout of this batch
    /// (`struct.pack("<4Q", 2, 1, 2, 2) + struct.pack("<8f", ...) + struct.pack("<2q", 3, 9)`).
    #[test]
    fn the_fingerprint_is_sha256_of_the_documented_layout() {
        assert_eq!(
            batch().sha256(),
            "dc6f98933f90ec054fe7edd9c797a8e08021ae03b70fa09467a6514d91a360c7"
        );
    }

    /// Every part of the batch the network sees counts (a label, one pixel's bits, the shape);
    /// which records it came from does not, the indices being recorded beside it.
    #[test]
    fn the_fingerprint_follows_what_the_network_sees() {
        let base = batch().sha256();
        let mut label = batch();
        label.labels[1] = 8;
        let mut pixel = batch();
        pixel.images[5] = 0.25;
        let mut shape = batch();
        (shape.height, shape.width) = (1, 4);
        for other in [label, pixel, shape] {
            assert_ne!(other.sha256(), base);
        }
        let mut records = batch();
        records.indices = vec![0, 1];
        assert_eq!(records.sha256(), base);
    }
}
