//! The one HTTP client of the service's outgoing calls (an SMS provider's
//! API, the identity provider's discovery, keys and token endpoints): ureq
//! over native-tls with the system's certificate store, no redirects
//! followed (a redirect to somewhere else is never what an API means), an
//! overall time limit, and error statuses handed back as answers so that
//! their bodies (Twilio's error codes, OAuth's `invalid_grant`) can be read.

use std::time::Duration;

/// An agent for calls that take at most `timeout` each.
pub fn agent(timeout: Duration) -> ureq::Agent {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .tls_config(
            TlsConfig::builder()
                .provider(TlsProvider::NativeTls)
                .root_certs(RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .new_agent()
}
