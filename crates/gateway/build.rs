//! Rebuilds the gateway when a migration is added: `sqlx::migrate!` embeds
//! the migration files, and Cargo only sees changes to files it was told of.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/gateway");
}
