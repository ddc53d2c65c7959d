//! The wire contract between the services, generated from `proto/`.
//!
//! One crate so the gateway, validator and claims service can never disagree
//! about a message's shape.

/// gRPC API of the claims service.
pub mod claims {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("bf.claims.v1");
}

/// Messages carried on RabbitMQ.
pub mod imports {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("bf.imports.v1");
}

pub mod client;
pub use client::ClaimsClient;
