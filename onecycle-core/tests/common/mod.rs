//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod peers;

use onecycle_core::{MomentumRange, OneCycleConfig, Phases};

/// The same config in `f32`, every float rounded to nearest.
pub fn to_f32(c: &OneCycleConfig<f64>) -> OneCycleConfig<f32> {
    OneCycleConfig {
        max_lr: c.max_lr as f32,
        total_steps: c.total_steps,
        pct_start: c.pct_start as f32,
        div_factor: c.div_factor as f32,
        final_div_factor: c.final_div_factor as f32,
        final_div_of: c.final_div_of,
        anneal: c.anneal,
        phases: match c.phases {
            Phases::Two => Phases::Two,
            Phases::Three { pct_final } => Phases::Three {
                pct_final: pct_final as f32,
            },
        },
        momentum: c.momentum.map(|m| MomentumRange {
            base: m.base as f32,
            max: m.max as f32,
        }),
        convention: c.convention,
    }
}
