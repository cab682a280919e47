//! Governance: the regulations' rules that act on footage. Retention is the one
//! place that decides erasure (holds first, then the policy's days, then disk
//! pressure in overwrite mode); integrity signs chain heads and verifies that no
//! stored byte or catalog row was changed, removed or reordered; access decides who
//! may do what from where, under which designation and instruction.

pub mod access;
pub mod integrity;
pub mod retention;

#[cfg(test)]
mod tests;
