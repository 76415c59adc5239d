//! mcp-oauth-conform: conformance checks for MCP OAuth deployments.
//!
//! Data flows one way: `cli` → `config` → `discovery` → `runner` (checks from `suite`, protocol
//! moves from `action`) → `report`. Reporters never touch the network.

pub mod action;
pub mod agent;
pub mod app;
pub mod catalogue;
pub mod cimd;
pub mod cleanup;
pub mod cli;
pub mod compare;
pub mod config;
pub mod demo;
pub mod discovery;
pub mod dry_run;
pub mod exit;
pub mod expectations;
pub mod footprint;
pub mod fuzz;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod init_profile;
pub mod mcp;
pub mod negotiate;
pub mod oauth;
pub mod preflight;
pub mod report;
pub mod revision;
pub mod runner;
pub mod session;
pub mod suite;

pub use mcp_oauth_reference as reference;
