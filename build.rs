//! Build script: rebuild when a migration is added or changed, so `sqlx::migrate!` (which embeds
//! `migrations/` at compile time) never ships a stale set — sqlx's documented recipe.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
