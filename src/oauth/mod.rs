//! OAuth protocol knowledge: parsers for what servers send, and the URL rules of discovery.
//! Every parser takes untrusted text and returns a `Result`.

pub mod forge;
pub mod jwt;
pub mod metadata;
pub mod response;
pub mod www_authenticate;
