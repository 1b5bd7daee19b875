//! One module per group of commands.

pub mod catalog;
pub mod check;
pub mod demo;
pub mod device;
pub mod fetch;
pub mod keygen;
pub mod man;
pub mod pack;
pub mod plan;
pub mod repo;
pub mod root;
pub mod sign;
