//! The rules of a patient-balance import, with no I/O.
//!
//! Everything here is a pure function of its input so the same rules run in
//! the validator, the gateway and the unit tests, and can be tested without
//! a database or a broker.

pub mod compact;
pub mod date;
pub mod delimiter;
pub mod encoding;
pub mod header;
pub mod import;
pub mod line_endings;
pub mod matching;
pub mod money;
pub mod open;
pub mod options;
pub mod posting;
pub mod problem;
pub mod reader;
pub mod row;
pub mod split;
pub mod template;
pub mod xlsx;

pub use problem::{Problem, ProblemCode};
pub use row::{Row, RowStatus};
pub use template::Column;
