//! OAuth protocol knowledge: parsers for what servers send, the URL rules of discovery, and the
//! values a client makes (`pkce`) and compares (`redirect`). Every parser takes untrusted text and
//! returns a `Result`. It may import the suite format (`JsonType`, `Forgery`), never the other
//! way round.

pub mod forge;
pub mod jwt;
pub mod metadata;
pub mod pkce;
pub mod redirect;
pub mod response;
pub mod www_authenticate;
