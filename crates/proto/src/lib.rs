//! The wire contract between the services, generated from `proto/`.
//!
//! One crate so the gateway, validator and claims service can never disagree
//! about a message's shape.

/// The generated packages, nested as protobuf names them so that one
/// package can refer to another's messages.
pub mod bf {
    /// Claims service packages.
    pub mod claims {
        /// gRPC API of the claims service.
        pub mod v1 {
            #![allow(missing_docs, clippy::all)]
            tonic::include_proto!("bf.claims.v1");
        }
    }
    /// Import messaging packages.
    pub mod imports {
        /// Messages carried on RabbitMQ.
        pub mod v1 {
            #![allow(missing_docs, clippy::all)]
            tonic::include_proto!("bf.imports.v1");
        }
    }
}

pub use bf::claims::v1 as claims;
pub use bf::imports::v1 as imports;

pub mod client;
pub use client::ClaimsClient;
