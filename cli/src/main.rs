//! `hpk`: the command-line front end over `hpk-sign` and `hpk-verify`.
#![forbid(unsafe_code)]

fn main() {}
