//! Ledger, space and HTTP tests against a real PostgreSQL started by the shared harness.

mod balance;
mod concurrency;
mod harness;
mod http;
mod post;
mod shards;
mod space;
mod space_registry;
