//! The onecycle host trainer: data, models, training loop and the `onecycle` CLI.
