//! Progress bars on stderr. indicatif hides them when stderr is not a
//! terminal, so scripts capturing stdout (or logging stderr) see no noise.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Resolution of the 0..1 processing progress the gateway reports.
const FRACTION_STEPS: u64 = 1000;

fn style(template: &str) -> ProgressStyle {
    // The templates are constants in this file; falling back to the default
    // style keeps a template typo from ever failing a command.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// A bar counting uploaded bytes of a file of `len` bytes.
pub fn bytes(len: u64) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(style(
        "uploading [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ));
    pb
}

/// A bar counting items (e.g. patients) sent so far.
pub fn items(len: u64, what: &'static str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(style(&format!("{what} [{{wide_bar}}] {{pos}}/{{len}}")));
    pb
}

/// A bar for server-side processing; the message shows the import status.
pub fn processing() -> ProgressBar {
    let pb = ProgressBar::new(FRACTION_STEPS);
    pb.set_style(style("{spinner} {msg:<18} [{wide_bar}] {percent:>3}%"));
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Move a [`processing`] bar to the gateway's 0..1 progress.
pub fn set_fraction(pb: &ProgressBar, fraction: f64) {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // f is in 0..=1, so the product is in 0..=FRACTION_STEPS and fits a u64.
    pb.set_position((f * FRACTION_STEPS as f64).round() as u64);
}
