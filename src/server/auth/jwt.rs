//! Access tokens: HS256 JWTs with pinned algorithm, issuer and audience.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{error::AppError, model::Role};

pub const AUDIENCE: &str = "energyapp-llm";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Issued-at in milliseconds: sessions ended within the same second as a token was issued
    /// still end it.
    #[serde(default)]
    pub iat_ms: i64,
}

/// Signing and verifying keys.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &str, issuer: &str, ttl_secs: i64) -> Self {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            issuer: issuer.to_string(),
            ttl_secs,
        }
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// A new access token for this user.
    pub fn issue(&self, user_id: &str, role: Role) -> Result<String, AppError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let now = now_ms / 1000;
        let claims = Claims {
            iat_ms: now_ms,
            sub: user_id.to_string(),
            role,
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_string(),
            iat: now,
            exp: now + self.ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "jwt encode failed");
            AppError::Internal
        })
    }

    /// Verifies signature, algorithm, expiry, issuer and audience.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0; // we verify our own tokens: no clock skew to allow for
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| AppError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_and_refusals() {
        let keys = JwtKeys::new(SECRET, "energyapp-llm", 900);
        let token = keys.issue("u1", Role::Admin).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.role), ("u1", Role::Admin));

        let other = JwtKeys::new("another-secret-another-secret-xx", "energyapp-llm", 900);
        assert_eq!(other.verify(&token).unwrap_err(), AppError::Unauthorized);
        let wrong_issuer = JwtKeys::new(SECRET, "someone-else", 900);
        assert!(wrong_issuer.verify(&token).is_err());

        let expired = JwtKeys::new(SECRET, "energyapp-llm", -10);
        let old = expired.issue("u1", Role::User).unwrap();
        assert!(keys.verify(&old).is_err());

        // alg: none, same claims, no signature.
        let payload = token.split('.').nth(1).unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(keys.verify(&none).is_err());
        assert!(keys.verify("garbage").is_err());
    }
}
