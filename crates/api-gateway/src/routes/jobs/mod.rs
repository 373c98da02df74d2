//! The jobs resource: submit, read, history, outputs.

pub mod actions;
pub mod create;
pub mod get;
pub mod outputs;
pub mod resource;
pub mod upload;
