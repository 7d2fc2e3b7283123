//! Concierge: a self-hosted portal in which an organization's administrators manage its
//! users and the buildings each may reach, and every user manages their own profile.

pub mod auth;
pub mod backup;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod export;
pub mod mail;
pub mod metrics;
pub mod ops;
pub mod owner;
pub mod scim;
pub mod seed;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;
