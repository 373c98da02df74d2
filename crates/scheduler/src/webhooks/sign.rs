//! Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")).
//! Every configured secret signs, newest first, space-separated in one header, so a receiver
//! that knows either the old or the new secret verifies during a rotation.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signing keys, newest first.
#[derive(Clone, Default)]
pub struct Signer {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Signer")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Signer {
    /// Parses `TINTYPE_WEBHOOK_SECRETS`: comma-separated, newest first; a `whsec_` secret is
    /// base64 after the prefix (the Standard Webhooks form), anything else is used as bytes.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        for secret in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let key = match secret.strip_prefix("whsec_") {
                Some(b64) => STANDARD
                    .decode(b64)
                    .map_err(|e| format!("a whsec_ secret is not valid base64: {e}"))?,
                None => secret.as_bytes().to_vec(),
            };
            if key.len() < 16 {
                return Err("webhook secrets must be at least 16 bytes".into());
            }
            keys.push(key);
        }
        Ok(Self { keys })
    }

    /// Whether no secret is configured (deliveries then go out unsigned).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `webhook-signature` header value.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        self.keys
            .iter()
            .map(|key| format!("v1,{}", STANDARD.encode(mac(key, id, timestamp, body))))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The example from the Standard Webhooks specification's reference libraries.
        let signer = Signer::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn every_secret_signs_newest_first() {
        let signer = Signer::parse("new-secret-0123456789,old-secret-0123456789").unwrap();
        let header = signer.sign("id", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        let only_new = Signer::parse("new-secret-0123456789").unwrap();
        assert_eq!(parts[0], only_new.sign("id", 1, b"{}"));
        assert_ne!(parts[0], parts[1]);
        assert!(Signer::parse("short").is_err());
        assert!(Signer::parse("").unwrap().is_empty());
    }
}
