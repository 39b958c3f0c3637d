//! Shared helpers for the onecycle benches.
