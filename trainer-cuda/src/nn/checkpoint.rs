//! Checkpoints as safetensors files: parameters, batch-norm running statistics and optimiser
//! state (all f32, little-endian), with the model name and optimiser step in the metadata.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::{ModelKind, NamedTensor, NnError, Snapshot};

const KEY_MODEL: &str = "onecycle.model";
const KEY_STEP: &str = "onecycle.optimizer_step";

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> NnError {
    NnError::Checkpoint(format!("{what} {}: {e}", path.display()))
}

/// Writes `snapshot` to `path` atomically (a temporary file in the same folder, then a rename).
pub(crate) fn save(snapshot: &Snapshot, model: ModelKind, path: &Path) -> Result<(), NnError> {
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
    let meta = HashMap::from([
        (KEY_MODEL.to_string(), model.to_string()),
        (KEY_STEP.to_string(), snapshot.optimizer_step.to_string()),
    ]);
    let data = safetensors::tensor::serialize(views, &Some(meta))
        .map_err(|e| NnError::Checkpoint(format!("serialising: {e:?}")))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, data).map_err(|e| io_err(&tmp, "writing", e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, "renaming onto", e))
}

/// Reads a checkpoint written by [`save`] for `model`.
pub(crate) fn load(path: &Path, model: ModelKind) -> Result<Snapshot, NnError> {
    let data = std::fs::read(path).map_err(|e| io_err(path, "reading", e))?;
    let (_, meta) =
        SafeTensors::read_metadata(&data).map_err(|e| io_err(path, "parsing", format!("{e:?}")))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let found = meta.get(KEY_MODEL).map_or("<none>", String::as_str);
    if found != model.to_string() {
        return Err(NnError::Checkpoint(format!(
            "{} holds model {found}, not {model}: pass the matching --model",
            path.display()
        )));
    }
    let optimizer_step = meta
        .get(KEY_STEP)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io_err(path, "reading the optimiser step of", "missing or invalid"))?;
    let st =
        SafeTensors::deserialize(&data).map_err(|e| io_err(path, "parsing", format!("{e:?}")))?;
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
