//! The jobs resource: submit, list, dry-run, read, history, outputs, cancel, retry, delete.

pub mod actions;
pub mod create;
pub mod get;
pub mod list;
pub mod outputs;
pub mod resource;
pub mod source;
pub mod upload;
pub mod validate;
