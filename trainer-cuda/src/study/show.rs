//! How the study's numbers read in its tables, rules and plots: epochs, ratios and
//! learning rates, with `∞` for a miss and `–` for no value.

/// `fmt(x)`, or `∞` for a miss (infinity) and `–` for no value (NaN).
///
/// ```
/// use trainer_cuda::study::show::show_value;
/// let pct = |x: f64| format!("{:.1}", 100.0 * x);
/// assert_eq!(show_value(0.5, pct), "50.0");
/// assert_eq!(show_value(f64::INFINITY, pct), "∞");
/// assert_eq!(show_value(f64::NAN, pct), "–");
/// ```
pub fn show_value(x: f64, fmt: impl Fn(f64) -> String) -> String {
    if x.is_infinite() {
        "∞".to_string()
    } else if x.is_nan() {
        "–".to_string()
    } else {
        fmt(x)
    }
}

/// Formats a number of epochs compactly: `0.25`, `2`, `∞`.
pub fn show_epochs(e: f64) -> String {
    if e.is_infinite() {
        "∞".into()
    } else if e.is_nan() {
        "–".into()
    } else {
        let s = format!("{e:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Formats a ratio: `3.0×`, `>16×` style infinity as `∞`, `–` for none.
pub fn show_ratio(r: f64) -> String {
    if r.is_infinite() {
        "∞ (baseline misses)".into()
    } else if r.is_nan() {
        "– (1cycle misses)".into()
    } else {
        format!("{r:.2}×")
    }
}

/// A learning rate to three significant digits (0.00333, 0.01, 0.1).
pub(crate) fn show_lr(lr: f64) -> String {
    if !(lr.is_finite() && lr > 0.0) {
        return lr.to_string();
    }
    let decimals = (2.0 - lr.log10().floor()).clamp(0.0, 12.0) as usize;
    let s = format!("{lr:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_are_shown_without_trailing_zeros() {
        assert_eq!(show_epochs(0.25), "0.25");
        assert_eq!(show_epochs(16.0), "16");
        assert_eq!(show_epochs(f64::INFINITY), "∞");
        assert_eq!(show_ratio(3.0), "3.00×");
    }

    #[test]
    fn learning_rates_show_three_significant_digits() {
        assert_eq!(show_lr(1.0 / 300.0), "0.00333");
        assert_eq!(show_lr(0.01), "0.01");
        assert_eq!(show_lr(0.1), "0.1");
        assert_eq!(show_lr(3.0), "3");
        assert_eq!(show_lr(0.0), "0");
    }
}
