//! Checkpoints as safetensors files: parameters, batch-norm running statistics and optimiser
//! state (all f32, little-endian), with the model name and optimiser step in the metadata.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::{ModelKind, NamedTensor, NnError, Snapshot};

/// The one metadata key: `model=<name>;optimizer_step=<n>`. A single entry, because
/// safetensors writes its metadata map in hash order, and two keys would make identical
/// checkpoints differ byte-wise from one process to the next.
const KEY: &str = "onecycle";

fn meta_value(model: ModelKind, step: u64) -> String {
    format!("model={model};optimizer_step={step}")
}

fn meta_field<'a>(value: &'a str, field: &str) -> Option<&'a str> {
    value
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == field)
        .map(|(_, v)| v)
}

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> NnError {
    NnError::Checkpoint(format!("{what} {}: {e}", path.display()))
}

/// The safetensors bytes of `snapshot` for `model` (what [`save`] writes).
pub(crate) fn to_bytes(snapshot: &Snapshot, model: ModelKind) -> Result<Vec<u8>, NnError> {
    let bytes: Vec<Vec<u8>> = snapshot
        .tensors
        .iter()
        .map(|t| t.data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views = snapshot
        .tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            TensorView::new(Dtype::F32, t.shape.clone(), b)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| NnError::Checkpoint(format!("tensor {}: {e:?}", t.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let meta = HashMap::from([(KEY.to_string(), meta_value(model, snapshot.optimizer_step))]);
    safetensors::tensor::serialize(views, &Some(meta))
        .map_err(|e| NnError::Checkpoint(format!("serialising: {e:?}")))
}

/// Writes `snapshot` to `path` atomically (a temporary file in the same folder, then a rename).
pub(crate) fn save(snapshot: &Snapshot, model: ModelKind, path: &Path) -> Result<(), NnError> {
    let data = to_bytes(snapshot, model)?;
    crate::atomic::write_atomic(path, &data).map_err(|e| io_err(path, "writing", format!("{e:#}")))
}

/// Reads a checkpoint written by [`save`] for `model`.
pub(crate) fn load(path: &Path, model: ModelKind) -> Result<Snapshot, NnError> {
    let data = std::fs::read(path).map_err(|e| io_err(path, "reading", e))?;
    from_bytes(&data, path, model)
}

/// Parses the bytes of a checkpoint written by [`save`] for `model`; `path` only names
/// it in errors.
pub(crate) fn from_bytes(data: &[u8], path: &Path, model: ModelKind) -> Result<Snapshot, NnError> {
    let (_, meta) =
        SafeTensors::read_metadata(data).map_err(|e| io_err(path, "parsing", format!("{e:?}")))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let value = meta.get(KEY).map_or("", String::as_str);
    let found = meta_field(value, "model").unwrap_or("<none>");
    if found != model.to_string() {
        return Err(NnError::Checkpoint(format!(
            "{} holds model {found}, not {model}: pass the matching --model",
            path.display()
        )));
    }
    let optimizer_step = meta_field(value, "optimizer_step")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io_err(path, "reading the optimiser step of", "missing or invalid"))?;
    let st =
        SafeTensors::deserialize(data).map_err(|e| io_err(path, "parsing", format!("{e:?}")))?;
    let mut tensors = Vec::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(NnError::Checkpoint(format!(
                "tensor {name} is {:?}, expected F32",
                view.dtype()
            )));
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.push(NamedTensor {
            name,
            shape: view.shape().to_vec(),
            data,
        });
    }
    Ok(Snapshot {
        tensors,
        optimizer_step,
    })
}
